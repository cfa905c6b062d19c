// sipdetect command-line program: Zeek sip.log readers, TSV and JSON lines.
//
// One sip.log line is one transaction: the request, plus the response when
// status_code is set. The request becomes a record sent by the originator;
// the response keeps the connection's orientation (orig -> resp) and is
// marked as sent by the destination.
#include "readers.hpp"

#include "readers_detail.hpp"

#include <nlohmann/json.hpp>
#include <sipdetect/sip_parser.hpp>

#include <array>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace sipdetect_cli {

namespace {

// One sip.log line, whatever its encoding.
struct zeek_transaction {
    sipdetect::record_time time{};
    sipdetect::ip_address orig_h, resp_h;
    std::uint16_t orig_p = 0, resp_p = 0;
    std::optional<std::string> method, response_from, response_to, seq;
    std::string uri, request_from, request_to, user_agent;
    std::optional<std::uint16_t> status;
    unsigned request_vias = 0, response_vias = 0;
};

// The base of the Zeek readers: their read_more() reads lines until one
// transaction was emitted or skipped.
class zeek_reader_base : public detail::batch_reader {
protected:
    zeek_reader_base(const std::filesystem::path& p, input_format f) : batch_reader(p, f), lines_(p) {}
    zeek_reader_base(const std::filesystem::path& name, input_format f, read_some_function read)
        : batch_reader(name, f), lines_(name, std::move(read)) {}

    [[noreturn]] void fail_here(std::string what) const { detail::fail(path(), lines_.where(), std::move(what)); }

    std::uint16_t parse_status(std::string_view text) const {
        const auto v = detail::parse_uint<unsigned>(text);
        if (!v || *v < 100 || *v > 699) fail_here("bad status_code " + detail::quoted_excerpt(text));
        return static_cast<std::uint16_t>(*v);
    }
    std::uint16_t port(std::string_view text, const char* name) const {
        const auto v = detail::parse_uint<unsigned>(text);
        if (!v || *v > 65535) fail_here(std::string("bad ") + name + " " + detail::quoted_excerpt(text));
        return static_cast<std::uint16_t>(*v);
    }
    sipdetect::ip_address address(std::string_view text, const char* name) const {
        const auto a = sipdetect::ip_address::try_parse(detail::trim(text));
        if (!a) fail_here(std::string("bad ") + name + " " + detail::quoted_excerpt(text));
        return *a;
    }
    void set_time(zeek_transaction& t, std::optional<std::int64_t> micros) {
        if (micros) {
            t.time = sipdetect::record_time_from_micros(*micros);
        } else {
            t.time = sipdetect::record_time{}; // masked or garbled ts: the epoch, with a warning count
            ++counters_.bad_timestamps;
        }
    }

    void emit(const zeek_transaction& t) {
        if (!t.method && !t.status) {
            ++counters_.skipped_records;
            return;
        }
        input_record base;
        base.time = t.time;
        base.src = t.orig_h;
        base.dst = t.resp_h;
        base.src_port = t.orig_p;
        base.dst_port = t.resp_p;
        const sipdetect::sip_method column_method =
            t.method ? sipdetect::parse_sip_method(detail::trim(*t.method)) : sipdetect::sip_method::unknown;
        if (t.method) {
            input_record r = base;
            r.sent_by = sipdetect::sender::source;
            r.method = column_method;
            r.request_uri = t.uri;
            r.from_uri.assign(sipdetect::party_uri(t.request_from));
            r.to_uri.assign(sipdetect::party_uri(t.request_to));
            r.user_agent = t.user_agent;
            r.via_count = t.request_vias;
            ++counters_.sip_messages;
            pending().push_back(std::move(r));
        }
        if (t.status) {
            input_record r = std::move(base);
            r.sent_by = sipdetect::sender::destination;
            r.status = *t.status;
            r.method = t.seq ? sipdetect::cseq_method(detail::trim(*t.seq)) : sipdetect::sip_method::unknown;
            if (r.method == sipdetect::sip_method::unknown) r.method = column_method;
            r.from_uri.assign(sipdetect::party_uri(t.response_from ? *t.response_from : t.request_from));
            r.to_uri.assign(sipdetect::party_uri(t.response_to ? *t.response_to : t.request_to));
            r.via_count = t.response_vias;
            ++counters_.sip_messages;
            pending().push_back(std::move(r));
        }
    }

    detail::line_source lines_;
    std::string line_;
};

// Zeek's ASCII writer escapes bytes as \xHH.
std::string zeek_unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && hex(s[i + 2]) >= 0 && hex(s[i + 3]) >= 0) {
            out += static_cast<char>(hex(s[i + 2]) * 16 + hex(s[i + 3]));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

void split(std::string_view line, std::string_view sep, std::vector<std::string_view>& out) {
    out.clear();
    std::size_t i = 0;
    for (;;) {
        const std::size_t at = line.find(sep, i);
        out.push_back(line.substr(i, at == std::string_view::npos ? std::string_view::npos : at - i));
        if (at == std::string_view::npos) return;
        i = at + sep.size();
    }
}

// ---------------------------------------------------------------------------

class zeek_tsv_reader final : public zeek_reader_base {
public:
    explicit zeek_tsv_reader(const std::filesystem::path& p) : zeek_reader_base(p, input_format::zeek_tsv) {}
    zeek_tsv_reader(const std::filesystem::path& name, read_some_function read)
        : zeek_reader_base(name, input_format::zeek_tsv, std::move(read)) {}

private:
    enum column : std::size_t {
        ts, orig_h, orig_p, resp_h, resp_p, method, uri, request_from, request_to, response_from, response_to,
        seq, request_path, response_path, user_agent, status_code, column_count
    };
    static constexpr std::array<std::string_view, column_count> names{
        "ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "method", "uri", "request_from", "request_to",
        "response_from", "response_to", "seq", "request_path", "response_path", "user_agent",
        "status_code"};

    bool read_more() override {
        while (lines_.next(line_)) {
            if (line_.empty()) continue;
            if (line_.front() == '#') {
                directive();
                continue;
            }
            ++counters_.lines;
            if (field_count_ == 0) fail_here("data line before the #fields header");
            split(line_, separator_, fields_);
            if (fields_.size() != field_count_) {
                if (lines_.last_unterminated())
                    fail_here("truncated line (" + std::to_string(fields_.size()) + " of " +
                              std::to_string(field_count_) + " fields)");
                fail_here("expected " + std::to_string(field_count_) + " fields, got " +
                          std::to_string(fields_.size()));
            }
            emit(parse_line());
            return true;
        }
        return false;
    }

    void directive() {
        const std::string_view l = line_;
        if (l.starts_with("#separator")) {
            const std::string_view v = detail::trim(l.substr(10));
            separator_ = zeek_unescape(v);
            if (separator_.empty()) fail_here("empty #separator");
            return;
        }
        split(l, separator_, fields_);
        const std::string_view key = fields_[0];
        const std::string_view value = fields_.size() > 1 ? fields_[1] : std::string_view{};
        if (key == "#set_separator") {
            set_separator_ = zeek_unescape(value);
            if (set_separator_.empty()) fail_here("empty #set_separator"); // would split forever
        } else if (key == "#empty_field") empty_ = zeek_unescape(value);
        else if (key == "#unset_field") unset_ = zeek_unescape(value);
        else if (key == "#path" && value != "sip")
            fail_here("not a Zeek sip.log (#path " + detail::quoted_excerpt(value) + ")");
        else if (key == "#fields") {
            field_count_ = fields_.size() - 1;
            index_.fill(npos);
            for (std::size_t i = 1; i < fields_.size(); ++i)
                for (std::size_t c = 0; c < column_count; ++c)
                    if (fields_[i] == names[c]) index_[c] = i - 1;
            for (column c : {orig_h, orig_p, resp_h, resp_p})
                if (index_[c] == npos) fail_here("#fields has no " + std::string(names[c]) + " column");
            if (index_[method] == npos && index_[status_code] == npos)
                fail_here("#fields has neither method nor status_code: not a Zeek sip.log");
        }
        // #types, #open, #close and comments carry nothing we need.
    }

    // The raw field, or nullopt when the column is absent or the value unset.
    std::optional<std::string_view> raw(column c) const {
        if (index_[c] == npos) return std::nullopt;
        const std::string_view v = fields_[index_[c]];
        if (v == unset_) return std::nullopt;
        if (v == empty_) return std::string_view{};
        return v;
    }
    std::optional<std::string> text(column c) const {
        auto v = raw(c);
        if (!v) return std::nullopt;
        return zeek_unescape(*v);
    }
    unsigned vector_size(column c) const {
        const auto v = raw(c);
        if (!v || v->empty()) return 0;
        std::vector<std::string_view> parts;
        split(*v, set_separator_, parts);
        return static_cast<unsigned>(parts.size());
    }

    zeek_transaction parse_line() {
        zeek_transaction t;
        const auto ts_text = raw(ts);
        set_time(t, ts_text ? detail::parse_epoch_seconds(*ts_text) : std::nullopt);
        const auto oh = raw(orig_h), op = raw(orig_p), rh = raw(resp_h), rp = raw(resp_p);
        if (!oh || !op || !rh || !rp) fail_here("connection id unset");
        t.orig_h = address(*oh, "id.orig_h");
        t.orig_p = port(*op, "id.orig_p");
        t.resp_h = address(*rh, "id.resp_h");
        t.resp_p = port(*rp, "id.resp_p");
        t.method = text(method);
        t.uri = text(uri).value_or("");
        t.request_from = text(request_from).value_or("");
        t.request_to = text(request_to).value_or("");
        t.response_from = text(response_from);
        t.response_to = text(response_to);
        t.seq = text(seq);
        t.user_agent = text(user_agent).value_or("");
        t.request_vias = vector_size(request_path);
        t.response_vias = vector_size(response_path);
        if (const auto s = raw(status_code)) t.status = parse_status(*s);
        return t;
    }

    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    std::string separator_ = "\t", set_separator_ = ",", empty_ = "(empty)", unset_ = "-";
    std::size_t field_count_ = 0;
    std::array<std::size_t, column_count> index_{};
    std::vector<std::string_view> fields_;
};

// ---------------------------------------------------------------------------

class zeek_json_reader final : public zeek_reader_base {
public:
    explicit zeek_json_reader(const std::filesystem::path& p) : zeek_reader_base(p, input_format::zeek_json) {}
    zeek_json_reader(const std::filesystem::path& name, read_some_function read)
        : zeek_reader_base(name, input_format::zeek_json, std::move(read)) {}

private:
    using json = nlohmann::json;
    static constexpr int max_depth = 16; // sip.log is flat; deeper nesting is junk

    bool read_more() override {
        while (lines_.next(line_)) {
            if (detail::trim(line_).empty()) continue;
            ++counters_.lines;
            bool too_deep = false;
            json j;
            try {
                j = json::parse(
                    line_,
                    [&too_deep](int depth, json::parse_event_t, json&) {
                        if (depth <= max_depth) return true;
                        too_deep = true;
                        return false; // discard: never build the deep value
                    },
                    true);
            } catch (const json::exception& e) {
                fail_here(lines_.last_unterminated() ? std::string("truncated line: ") + e.what()
                                                     : std::string("invalid JSON: ") + e.what());
            }
            if (too_deep) fail_here("JSON nested deeper than " + std::to_string(max_depth) + " levels");
            if (!j.is_object()) fail_here("JSON line is not an object");
            if (const auto p = find(j, "_path"); p && !(p->is_string() && p->get_ref<const std::string&>() == "sip")) {
                ++counters_.skipped_records;
                continue;
            }
            emit(parse_object(j));
            return true;
        }
        return false;
    }

    // The value of a flat key such as "id.orig_h", or of the nested form {"id": {"orig_h": ...}}.
    static const json* find(const json& j, const std::string& key) {
        if (const auto it = j.find(key); it != j.end()) return it->is_null() ? nullptr : &*it;
        const auto dot = key.find('.');
        if (dot == std::string::npos) return nullptr;
        const auto outer = j.find(key.substr(0, dot));
        if (outer == j.end() || !outer->is_object()) return nullptr;
        const auto inner = outer->find(key.substr(dot + 1));
        if (inner == outer->end() || inner->is_null()) return nullptr;
        return &*inner;
    }

    // The value of a string field; nullptr when absent, an input_error when it is not a string.
    const std::string* checked_string(const json& j, const char* key) const {
        const json* v = find(j, key);
        if (!v) return nullptr;
        if (!v->is_string()) fail_here(std::string("field ") + key + " is not a string");
        return &v->get_ref<const std::string&>();
    }
    std::optional<std::string> string_field(const json& j, const char* key) const {
        const std::string* s = checked_string(j, key);
        return s ? std::optional<std::string>(*s) : std::nullopt;
    }
    // A count or port: a JSON number, or a string of digits.
    std::optional<std::string> number_text(const json& j, const char* key) const {
        const json* v = find(j, key);
        if (!v) return std::nullopt;
        if (v->is_number_unsigned()) return std::to_string(v->get<std::uint64_t>());
        if (v->is_number_integer()) return std::to_string(v->get<std::int64_t>());
        if (v->is_string()) return v->get<std::string>();
        fail_here(std::string("field ") + key + " is not a number");
    }
    unsigned vector_size(const json& j, const char* key) const {
        const json* v = find(j, key);
        if (!v) return 0;
        if (v->is_array()) return static_cast<unsigned>(v->size());
        if (v->is_string()) { // tolerate a set_separator-joined string
            const auto& s = v->get_ref<const std::string&>();
            if (s.empty()) return 0;
            std::vector<std::string_view> parts;
            split(s, ",", parts);
            return static_cast<unsigned>(parts.size());
        }
        fail_here(std::string("field ") + key + " is not an array");
    }

    zeek_transaction parse_object(const json& j) {
        zeek_transaction t;
        std::optional<std::int64_t> micros;
        if (const json* ts = find(j, "ts")) {
            if (ts->is_number()) micros = detail::epoch_seconds_from_double(ts->get<double>());
            else if (ts->is_string()) {
                const auto& s = ts->get_ref<const std::string&>();
                micros = detail::parse_iso_time(s);
                if (!micros) micros = detail::parse_epoch_seconds(s);
            }
        }
        set_time(t, micros);
        const auto oh = string_field(j, "id.orig_h"), rh = string_field(j, "id.resp_h");
        const auto op = number_text(j, "id.orig_p"), rp = number_text(j, "id.resp_p");
        if (!oh || !op || !rh || !rp) fail_here("connection id (id.orig_h, id.orig_p, id.resp_h, id.resp_p) missing");
        t.orig_h = address(*oh, "id.orig_h");
        t.orig_p = port(*op, "id.orig_p");
        t.resp_h = address(*rh, "id.resp_h");
        t.resp_p = port(*rp, "id.resp_p");
        t.method = string_field(j, "method");
        t.uri = string_field(j, "uri").value_or("");
        t.request_from = string_field(j, "request_from").value_or("");
        t.request_to = string_field(j, "request_to").value_or("");
        t.response_from = string_field(j, "response_from");
        t.response_to = string_field(j, "response_to");
        // call_id is not stored, but one that is not a string still marks a line that is no sip.log.
        checked_string(j, "call_id");
        t.seq = string_field(j, "seq");
        t.user_agent = string_field(j, "user_agent").value_or("");
        t.request_vias = vector_size(j, "request_path");
        t.response_vias = vector_size(j, "response_path");
        if (const auto s = number_text(j, "status_code")) t.status = parse_status(*s);
        return t;
    }
};

} // namespace

std::unique_ptr<record_reader> open_zeek_tsv_reader(const std::filesystem::path& path) {
    return std::make_unique<zeek_tsv_reader>(path);
}

std::unique_ptr<record_reader> open_zeek_json_reader(const std::filesystem::path& path) {
    return std::make_unique<zeek_json_reader>(path);
}

namespace detail {
std::unique_ptr<record_reader> open_zeek_tsv_stream(const std::string& name, read_some_function read) {
    return std::make_unique<zeek_tsv_reader>(name, std::move(read));
}
std::unique_ptr<record_reader> open_zeek_json_stream(const std::string& name, read_some_function read) {
    return std::make_unique<zeek_json_reader>(name, std::move(read));
}
} // namespace detail

} // namespace sipdetect_cli
