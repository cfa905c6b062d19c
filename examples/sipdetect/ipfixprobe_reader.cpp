// sipdetect command-line program: ipfixprobe's UniRec text output.
//
// CSV lines whose columns are named by a UniRec template line such as
// "ipaddr DST_IP,ipaddr SRC_IP,...,string SIP_VIA", normally the last line of
// the file (the first line is accepted too). Each line is one SIP message.
// Direction trap: a biflow keeps a response in the request's orientation
// (SRC = client, PACKETS = 0, PACKETS_REV = 1), so such a record is marked as
// sent by the destination.
//
// Time trap: the record time is TIME_LAST, not TIME_FIRST. ipfixprobe's SIP
// plugin exports one record per SIP message by flushing the flow at that
// message, and the record keeps the TIME_FIRST of the flow it was cut from:
// the time of an earlier packet on the same 5-tuple. A response's TIME_FIRST
// is its request's time; a REGISTER retried after a 401 gets the time of
// the 401, or of a REGISTER sent seconds before (6.7 s early in the shared
// sip.unirec.csv). TIME_LAST is the time of the message's own packet: in
// that file it equals the packet time in sip.pcap for all 40 records,
// requests and responses, where TIME_FIRST does for the 9 INVITEs only.
// A template without TIME_LAST falls back to TIME_FIRST.
#include "readers.hpp"

#include "readers_detail.hpp"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace sipdetect_cli {

namespace {

class ipfixprobe_reader final : public record_reader {
public:
    explicit ipfixprobe_reader(const std::filesystem::path& p)
        : record_reader(p, input_format::ipfixprobe_csv), lines_(p) {
        if (auto last = detail::read_last_line(p); last && detail::is_unirec_template(last->text)) {
            template_offset_ = last->offset;
            set_template(last->text, "template (last line)");
        }
    }

    // A stream: its template is its first line, or its last, in which case
    // the lines before it are held in a temporary file until it arrives.
    ipfixprobe_reader(const std::filesystem::path& name, read_some_function read)
        : record_reader(name, input_format::ipfixprobe_csv), lines_(name, std::move(read)), stream_(true) {}

    bool next(input_record& out) override {
        if (error_) throw input_exception(*error_);
        try {
            while (next_line()) {
                if (detail::trim(line_).empty()) continue;
                if (template_offset_ && lines_.line_offset() == *template_offset_) continue; // the template itself
                if (!have_template_) {
                    if (!detail::is_unirec_template(line_)) {
                        // No template at the end: the first line must be one.
                        if (!stream_) fail_here("no UniRec template (\"type NAME,...\") as the last or first line");
                        hold(line_);
                        continue;
                    }
                    set_template(line_, lines_.where());
                    replay_held();
                    continue;
                }
                ++counters_.lines;
                if (parse_line(out)) {
                    ++counters_.sip_messages;
                    ++counters_.records;
                    return true;
                }
                ++counters_.skipped_records;
            }
            if (!have_template_) detail::fail(path(), "", "empty file: no UniRec template");
            return false;
        } catch (const input_exception& e) {
            error_ = e.error();
            throw;
        }
    }

private:
    enum column : std::size_t {
        src_ip, dst_ip, src_port, dst_port, time_first, time_last, packets, packets_rev, msg_type, status_code,
        called_party, calling_party, cseq, request_uri, user_agent, via, column_count
    };
    static constexpr std::array<std::string_view, column_count> names{
        "SRC_IP", "DST_IP", "SRC_PORT", "DST_PORT", "TIME_FIRST", "TIME_LAST", "PACKETS", "PACKETS_REV", "SIP_MSG_TYPE",
        "SIP_STATUS_CODE", "SIP_CALLED_PARTY", "SIP_CALLING_PARTY", "SIP_CSEQ", "SIP_REQUEST_URI",
        "SIP_USER_AGENT", "SIP_VIA"};
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    [[noreturn]] void fail_here(std::string what) const {
        detail::fail(path(), replay_ ? replay_->where() + " (held until the template came)" : lines_.where(),
                     std::move(what));
    }

    // The next line: first those held while the template had not come.
    bool next_line() {
        if (replay_) {
            if (replay_->next(line_)) return true;
            replay_.reset();
            held_.reset();
        }
        return lines_.next(line_);
    }
    void hold(const std::string& line) {
        if (!held_) {
            held_.reset(std::tmpfile());
            if (!held_) fail_here(std::string("cannot create a temporary file: ") + std::strerror(errno));
        }
        if (std::fwrite(line.data(), 1, line.size(), held_.get()) != line.size() || std::fputc('\n', held_.get()) == EOF)
            fail_here(std::string("cannot write to a temporary file: ") + std::strerror(errno));
    }
    void replay_held() {
        if (!held_) return;
        if (std::fflush(held_.get()) != 0 || std::fseek(held_.get(), 0, SEEK_SET) != 0)
            fail_here(std::string("cannot read back a temporary file: ") + std::strerror(errno));
        std::FILE* held = held_.get();
        replay_.emplace(path(), [held](char* to, std::size_t n) -> std::ptrdiff_t {
            const std::size_t got = std::fread(to, 1, n, held);
            return got == 0 && std::ferror(held) ? -1 : static_cast<std::ptrdiff_t>(got);
        });
    }

    void set_template(std::string_view line, const std::string& where) {
        index_.fill(npos);
        field_count_ = 0;
        std::size_t i = 0;
        for (;;) {
            const std::size_t comma = line.find(',', i);
            const std::string_view item =
                detail::trim(line.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i));
            const std::string_view name = item.substr(item.find(' ') + 1);
            for (std::size_t c = 0; c < column_count; ++c)
                if (name == names[c]) index_[c] = field_count_;
            ++field_count_;
            if (comma == std::string_view::npos) break;
            i = comma + 1;
        }
        for (column c : {src_ip, dst_ip, dst_port, msg_type})
            if (index_[c] == npos)
                detail::fail(path(), where, "template has no " + std::string(names[c]) + " column");
        time_column_ = index_[time_last] != npos ? time_last : time_first; // see "Time trap" above
        if (index_[time_column_] == npos) detail::fail(path(), where, "template has no TIME_LAST or TIME_FIRST column");
        have_template_ = true;
    }

    std::string_view field(column c) const {
        return index_[c] == npos ? std::string_view{} : std::string_view(fields_[index_[c]]);
    }
    template <class T>
    std::optional<T> number(column c) const {
        if (index_[c] == npos) return std::nullopt;
        const auto v = detail::parse_uint<T>(fields_[index_[c]]);
        if (!v) fail_here("bad " + std::string(names[c]) + " " + detail::quoted_excerpt(fields_[index_[c]]));
        return v;
    }
    sipdetect::ip_address address(column c) const {
        const auto a = sipdetect::ip_address::try_parse(detail::trim(field(c)));
        if (!a) fail_here("bad " + std::string(names[c]) + " " + detail::quoted_excerpt(field(c)));
        return *a;
    }
    std::uint16_t port(column c) const {
        const auto v = number<unsigned>(c);
        if (v && *v > 65535) fail_here("bad " + std::string(names[c]) + " " + detail::quoted_excerpt(field(c)));
        return static_cast<std::uint16_t>(v.value_or(0));
    }

    // False for a flow without SIP (message type 0).
    bool parse_line(input_record& r) {
        if (const std::string err = detail::split_csv(line_, fields_); !err.empty())
            fail_here(lines_.last_unterminated() ? "truncated line: " + err : err);
        if (fields_.size() != field_count_) {
            if (lines_.last_unterminated())
                fail_here("truncated line (" + std::to_string(fields_.size()) + " of " + std::to_string(field_count_) +
                          " fields)");
            fail_here("expected " + std::to_string(field_count_) + " fields, got " + std::to_string(fields_.size()));
        }
        const unsigned type = number<unsigned>(msg_type).value_or(0);
        if (type == 0) return false;

        r = input_record{};
        const auto t = detail::parse_iso_time(field(time_column_));
        const auto t2 = t ? t : detail::parse_epoch_seconds(field(time_column_));
        if (!t2)
            fail_here("bad " + std::string(names[time_column_]) + " " + detail::quoted_excerpt(field(time_column_)));
        r.time = sipdetect::record_time_from_micros(*t2);
        r.src = address(src_ip);
        r.dst = address(dst_ip);
        r.src_port = port(src_port);
        r.dst_port = port(dst_port);
        const auto pk = number<std::uint64_t>(packets), pk_rev = number<std::uint64_t>(packets_rev);
        r.sent_by = pk && pk_rev && *pk == 0 && *pk_rev > 0 ? sipdetect::sender::destination
                                                             : sipdetect::sender::source;
        if (detail::ipfixprobe_is_response(type)) {
            const unsigned status = detail::ipfixprobe_status(type, number<unsigned>(status_code).value_or(0));
            if (status == 0)
                fail_here("response without a valid SIP_STATUS_CODE " + detail::quoted_excerpt(field(status_code)));
            r.status = static_cast<std::uint16_t>(status);
            r.method = sipdetect::cseq_method(detail::trim(field(cseq)));
        } else {
            r.method = detail::ipfixprobe_request_method(type);
            r.request_uri.assign(field(request_uri));
        }
        // ipfixprobe already reduces From/To to the bare URI.
        r.from_uri.assign(field(calling_party));
        r.to_uri.assign(field(called_party));
        r.user_agent.assign(field(user_agent));
        r.via_count = detail::count_via_values(field(via));
        return true;
    }

    detail::line_source lines_;
    bool stream_ = false;
    detail::file_ptr held_;                     // a stream's lines before its template
    std::optional<detail::line_source> replay_; // reading them back
    std::string line_;
    std::vector<std::string> fields_;
    std::optional<std::uint64_t> template_offset_;
    bool have_template_ = false;
    std::size_t field_count_ = 0;
    column time_column_ = time_last;
    std::array<std::size_t, column_count> index_{};
    std::optional<input_error> error_;
};

} // namespace

std::unique_ptr<record_reader> open_ipfixprobe_reader(const std::filesystem::path& path) {
    return std::make_unique<ipfixprobe_reader>(path);
}

namespace detail {
std::unique_ptr<record_reader> open_ipfixprobe_stream(const std::string& name, read_some_function read) {
    return std::make_unique<ipfixprobe_reader>(name, std::move(read));
}
} // namespace detail

} // namespace sipdetect_cli
