// sipdetect command-line program: IPFIX files of ipfixprobe's SIP records.
//
// An IPFIX file is a sequence of IPFIX messages (RFC 7011), one after another
// (RFC 5655), as a collector such as ipfixcol2 stores them. Templates, options
// templates and template withdrawals are honoured per observation domain; a
// data set whose template has not been seen is skipped and counted, as a
// collector joining a session late would do. A data record is a SIP message
// when its template has ipfixprobe's SIP elements (CESNET, enterprise 8057:
// 100 SIPMsgType, 101 SIPStatusCode, 102 SIPCallID, 103 SIPCallingParty,
// 104 SIPCalledParty, 105 SIPVia, 106 SIPUserAgent, 107 SIPRequestURI,
// 108 SIPCseq); records of other templates are counted as skipped.
//
// The traps of ipfixprobe's CSV output (ipfixprobe_reader.cpp) apply here too:
// the record time is the flow end (flowEnd*), since the SIP plugin cuts a
// flow at each message and the flow start can be an earlier packet's time;
// and a biflow keeps a response in the request's orientation (packetDeltaCount
// 0, its reverse, enterprise 29305, above 0), so such a record was sent by the
// destination.
//
// A message cut short, a set or field that runs past its message, a NetFlow
// v9 set id, an impossible template or too many templates end the file at
// that point with an input_exception that names the message and its offset.
// Sets with ids reserved for future use (4-255) are skipped and counted.
#include "readers.hpp"

#include "ipfix_elements.hpp"
#include "readers_detail.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace sipdetect_cli {

namespace {

constexpr std::uint16_t ipfix_version = 10;
constexpr std::size_t message_header_size = 16;
constexpr std::uint16_t template_set_id = 2, options_template_set_id = 3, first_data_set_id = 256;
constexpr std::uint16_t variable_length = 0xffff;
using ipfix::iana;
// A collector keeps every template of its sessions; a file that defines more
// than this is broken or hostile, and would otherwise grow memory without bound.
constexpr std::size_t max_templates = 4096;
constexpr std::size_t max_template_fields = std::size_t{1} << 20; // 12 MB of field descriptions in all

using ipfix::role;
using ipfix::role_of;
using ipfix::is_time;
using ipfix::time_rank;

struct template_field {
    std::uint32_t pen = 0;
    std::uint16_t id = 0;
    std::uint16_t length = 0; // variable_length for variable-length encoding
    role meaning = role::ignored;
};

struct ipfix_template {
    std::vector<template_field> fields;
    std::size_t min_record_length = 0; // a shorter tail of a data set is padding
    bool sip = false;                  // carries SIPMsgType: its records are SIP messages
    bool options = false;
    std::optional<role> time_field;    // the field the record time comes from
};

std::string element_name(std::uint32_t pen, std::uint16_t id) {
    return pen == iana ? "element " + std::to_string(id) : "element " + std::to_string(pen) + "/" + std::to_string(id);
}

class ipfix_reader final : public record_reader {
public:
    explicit ipfix_reader(const std::filesystem::path& p)
        : record_reader(p, input_format::ipfix), file_(detail::open_file(p)) {}

    bool next(input_record& out) override {
        if (error_) throw input_exception(*error_);
        try {
            for (;;) {
                if (data_template_ != nullptr && set_end_ - pos_ >= data_template_->min_record_length) {
                    const bool sip = decode_record(*data_template_, out);
                    if (sip) {
                        ++counters_.sip_messages;
                        ++counters_.records;
                        return true;
                    }
                    ++counters_.skipped_records;
                    continue;
                }
                data_template_ = nullptr; // what is left of the set is padding
                pos_ = set_end_;
                if (pos_ < message_.size()) {
                    start_set();
                } else if (!read_message()) {
                    return false;
                }
            }
        } catch (const input_exception& e) {
            error_ = e.error();
            throw;
        }
    }

private:
    [[noreturn]] void fail_here(std::string what) const {
        detail::fail(path(),
                     "message " + std::to_string(message_number_) + " (offset " + std::to_string(message_offset_) +
                         ")",
                     std::move(what));
    }
    std::string set_place() const { return "set at byte " + std::to_string(set_start_) + " of the message"; }

    // Reads the next message whole; false at a clean end of file.
    bool read_message() {
        std::array<std::uint8_t, message_header_size> header{};
        const std::size_t got = std::fread(header.data(), 1, header.size(), file_.get());
        if (got == 0 && !std::ferror(file_.get())) return false;
        message_offset_ = file_offset_;
        ++message_number_;
        if (std::ferror(file_.get())) fail_here(std::string("read error: ") + std::strerror(errno));
        if (got < header.size())
            fail_here("truncated message header (" + std::to_string(got) + " of 16 bytes)");
        const std::uint16_t version = detail::be16(header.data());
        const std::size_t length = detail::be16(header.data() + 2);
        if (version != ipfix_version)
            fail_here("version " + std::to_string(version) + ", expected 10 (IPFIX)" +
                      (version == 9 ? "; NetFlow v9 is not read" : ""));
        if (length < message_header_size)
            fail_here("message length " + std::to_string(length) + " is shorter than its header");
        domain_ = detail::be32(header.data() + 12);
        message_.resize(length);
        std::copy(header.begin(), header.end(), message_.begin());
        const std::size_t body = length - message_header_size;
        const std::size_t read = std::fread(message_.data() + message_header_size, 1, body, file_.get());
        if (read < body) {
            if (std::ferror(file_.get())) fail_here(std::string("read error: ") + std::strerror(errno));
            fail_here("truncated message (" + std::to_string(message_header_size + read) + " of " +
                      std::to_string(length) + " bytes)");
        }
        file_offset_ += length;
        ++counters_.ipfix_messages;
        pos_ = set_end_ = message_header_size;
        return true;
    }

    void start_set() {
        set_start_ = pos_;
        if (message_.size() - pos_ < 4)
            fail_here(set_place() + ": " + std::to_string(message_.size() - pos_) +
                      " bytes left, too few for a set header");
        const auto id = static_cast<std::uint16_t>(detail::read_be(bytes(pos_, 2)));
        const auto length = static_cast<std::size_t>(detail::read_be(bytes(pos_ + 2, 2)));
        if (length < 4 || length > message_.size() - pos_)
            fail_here(set_place() + ": set length " + std::to_string(length) + " does not fit the message (" +
                      std::to_string(message_.size() - pos_) + " bytes left)");
        set_end_ = pos_ + length;
        pos_ += 4;
        if (id == template_set_id || id == options_template_set_id) {
            read_templates(id == options_template_set_id);
            pos_ = set_end_;
        } else if (id >= first_data_set_id) {
            const auto t = templates_.find({domain_, id});
            if (t == templates_.end()) {
                ++counters_.sets_without_template;
                pos_ = set_end_;
            } else {
                data_template_ = &t->second;
            }
        } else if (id >= 4) { // reserved for future use: a newer exporter's, skipped
            ++counters_.reserved_sets;
            pos_ = set_end_;
        } else { // 0 and 1 are NetFlow v9's template set ids, never IPFIX's
            fail_here(set_place() + ": set id " + std::to_string(id) + " is not used in IPFIX");
        }
    }

    std::span<const std::uint8_t> bytes(std::size_t at, std::size_t n) const {
        return std::span<const std::uint8_t>(message_).subspan(at, n);
    }
    std::uint64_t take(std::size_t n, const char* what) {
        if (set_end_ - pos_ < n) fail_here(set_place() + ": " + what + " runs past the end of the set");
        const std::uint64_t v = detail::read_be(bytes(pos_, n));
        pos_ += n;
        return v;
    }

    void read_templates(bool options) {
        // A tail shorter than a template record header is padding.
        while (set_end_ - pos_ >= 4) {
            const auto id = static_cast<std::uint16_t>(take(2, "template id"));
            const auto count = static_cast<std::uint16_t>(take(2, "field count"));
            if (count == 0) { // a withdrawal
                withdraw(id, options);
                continue;
            }
            if (id < first_data_set_id) fail_here(set_place() + ": template id " + std::to_string(id) + " is reserved");
            std::uint16_t scope = 0;
            if (options) {
                scope = static_cast<std::uint16_t>(take(2, "scope field count"));
                if (scope == 0 || scope > count)
                    fail_here(set_place() + ": options template " + std::to_string(id) + " has " +
                              std::to_string(scope) + " scope fields of " + std::to_string(count));
            }
            ipfix_template t;
            t.options = options;
            t.fields.reserve(count);
            for (std::uint16_t i = 0; i < count; ++i) {
                template_field f;
                const auto raw_id = static_cast<std::uint16_t>(take(2, "template field"));
                f.length = static_cast<std::uint16_t>(take(2, "template field"));
                f.id = raw_id & 0x7fffu;
                if (raw_id & 0x8000u) f.pen = static_cast<std::uint32_t>(take(4, "enterprise number"));
                f.meaning = options ? role::ignored : role_of(f.pen, f.id);
                check_field(id, f);
                t.fields.push_back(f);
            }
            define(id, std::move(t));
        }
    }

    void check_field(std::uint16_t template_id, const template_field& f) const {
        const auto bad = [&](const std::string& expected) {
            fail_here(set_place() + ": template " + std::to_string(template_id) + ": " + element_name(f.pen, f.id) +
                      " has length " + (f.length == variable_length ? "variable" : std::to_string(f.length)) +
                      ", expected " + expected);
        };
        switch (f.meaning) {
        case role::src_v4:
        case role::dst_v4: if (f.length != 4) bad("4"); break;
        case role::src_v6:
        case role::dst_v6: if (f.length != 16) bad("16"); break;
        case role::end_seconds:
        case role::start_seconds: if (f.length != 4) bad("4"); break;
        case role::end_millis:
        case role::start_millis:
        case role::end_micros:
        case role::start_micros:
        case role::end_nanos:
        case role::start_nanos: if (f.length != 8) bad("8"); break;
        case role::src_port:
        case role::dst_port:
        case role::sip_msg_type:
        case role::sip_status: if (f.length < 1 || f.length > 2) bad("1 or 2"); break;
        case role::packets:
        case role::packets_rev: if (f.length < 1 || f.length > 8) bad("1 to 8"); break;
        default: break; // text of any length, and the fields not read
        }
    }

    void define(std::uint16_t id, ipfix_template t) {
        bool src = false, dst = false, dst_port = false;
        for (const template_field& f : t.fields) {
            t.min_record_length += f.length == variable_length ? 1 : f.length;
            if (f.meaning == role::sip_msg_type) t.sip = true;
            src = src || f.meaning == role::src_v4 || f.meaning == role::src_v6;
            dst = dst || f.meaning == role::dst_v4 || f.meaning == role::dst_v6;
            dst_port = dst_port || f.meaning == role::dst_port;
            if (is_time(f.meaning) && (!t.time_field || time_rank(f.meaning) < time_rank(*t.time_field)))
                t.time_field = f.meaning;
        }
        if (t.min_record_length == 0)
            fail_here(set_place() + ": template " + std::to_string(id) + " describes records of length 0");
        if (t.sip) {
            const char* missing = !src ? "source address" : !dst ? "destination address"
                                  : !dst_port ? "destination port" : !t.time_field ? "flow time" : nullptr;
            if (missing != nullptr)
                fail_here(set_place() + ": template " + std::to_string(id) + " has SIP fields but no " + missing);
        }
        const auto key = std::make_pair(domain_, id);
        const auto old = templates_.find(key);
        if (templates_.size() >= max_templates && old == templates_.end())
            fail_here(set_place() + ": more than " + std::to_string(max_templates) + " templates");
        const std::size_t fields = template_fields_ - (old == templates_.end() ? 0 : old->second.fields.size()) +
                                   t.fields.size();
        if (fields > max_template_fields)
            fail_here(set_place() + ": the templates would hold more than " + std::to_string(max_template_fields) +
                      " fields");
        template_fields_ = fields;
        templates_[key] = std::move(t);
        ++counters_.ipfix_templates;
    }

    // Template id equal to the set id withdraws every template of that kind in the domain.
    void withdraw(std::uint16_t id, bool options) {
        const bool all = id == (options ? options_template_set_id : template_set_id);
        std::erase_if(templates_, [&](const auto& kv) {
            const bool gone = kv.first.first == domain_ && (all ? kv.second.options == options : kv.first.second == id);
            if (gone) template_fields_ -= kv.second.fields.size();
            return gone;
        });
    }

    // False for a record of a template without SIP fields.
    bool decode_record(const ipfix_template& t, input_record& r) {
        const std::size_t start = pos_;
        std::array<std::span<const std::uint8_t>, static_cast<std::size_t>(role::sip_cseq) + 1> values{};
        std::array<bool, values.size()> present{};
        for (const template_field& f : t.fields) {
            std::size_t length = f.length;
            if (length == variable_length) {
                length = static_cast<std::size_t>(take(1, "a variable-length field's length"));
                if (length == 255) length = static_cast<std::size_t>(take(2, "a variable-length field's length"));
            }
            if (set_end_ - pos_ < length)
                fail_here(set_place() + ": data record at byte " + std::to_string(start) + ": " +
                          element_name(f.pen, f.id) + " runs past the end of the set");
            const auto slot = static_cast<std::size_t>(f.meaning);
            if (f.meaning != role::ignored && !present[slot]) {
                values[slot] = bytes(pos_, length);
                present[slot] = true;
            }
            pos_ += length;
        }
        if (!t.sip) return false;
        const auto value = [&](role x) { return detail::read_be(values[static_cast<std::size_t>(x)]); };
        const auto has = [&](role x) { return present[static_cast<std::size_t>(x)]; };
        const auto text = [&](role x) {
            const auto v = values[static_cast<std::size_t>(x)];
            std::string s(v.begin(), v.end());
            while (!s.empty() && s.back() == '\0') s.pop_back(); // fixed-length fields are padded with NULs
            return s;
        };

        const auto type = static_cast<unsigned>(value(role::sip_msg_type));
        if (type == 0) return false;
        r = input_record{};
        r.time = time_of(*t.time_field, value(*t.time_field));
        r.src = has(role::src_v4) ? sipdetect::ip_address::from_v4_bytes(values[static_cast<std::size_t>(role::src_v4)].data())
                                  : sipdetect::ip_address::from_v6_bytes(values[static_cast<std::size_t>(role::src_v6)].data());
        r.dst = has(role::dst_v4) ? sipdetect::ip_address::from_v4_bytes(values[static_cast<std::size_t>(role::dst_v4)].data())
                                  : sipdetect::ip_address::from_v6_bytes(values[static_cast<std::size_t>(role::dst_v6)].data());
        r.src_port = static_cast<std::uint16_t>(value(role::src_port));
        r.dst_port = static_cast<std::uint16_t>(value(role::dst_port));
        r.sent_by = has(role::packets) && has(role::packets_rev) && value(role::packets) == 0 &&
                            value(role::packets_rev) > 0
                        ? sipdetect::sender::destination
                        : sipdetect::sender::source;
        if (detail::ipfixprobe_is_response(type)) {
            const unsigned status = detail::ipfixprobe_status(type, static_cast<unsigned>(value(role::sip_status)));
            if (status == 0)
                fail_here(set_place() + ": data record at byte " + std::to_string(start) +
                          ": response without a valid SIPStatusCode (" + std::to_string(value(role::sip_status)) + ")");
            r.status = static_cast<std::uint16_t>(status);
            r.method = sipdetect::cseq_method(detail::trim(text(role::sip_cseq)));
        } else {
            r.method = detail::ipfixprobe_request_method(type);
            r.request_uri = text(role::sip_request_uri);
        }
        r.from_uri = text(role::sip_calling_party);
        r.to_uri = text(role::sip_called_party);
        r.user_agent = text(role::sip_user_agent);
        r.via_count = detail::count_via_values(text(role::sip_via));
        return true;
    }

    // A time beyond what record_time holds is an error, not a wrapped value.
    sipdetect::record_time time_of(role field, std::uint64_t v) const {
        const std::optional<std::int64_t> micros = ipfix::time_micros(ipfix::unit_of(field), v);
        if (!micros) fail_here(set_place() + ": flow time " + std::to_string(v) + " ms is out of range");
        return sipdetect::record_time_from_micros(*micros);
    }

    detail::file_ptr file_;
    std::vector<std::uint8_t> message_;
    std::uint64_t message_number_ = 0, message_offset_ = 0, file_offset_ = 0;
    std::uint32_t domain_ = 0;
    std::size_t pos_ = 0, set_start_ = 0, set_end_ = 0;
    std::map<std::pair<std::uint32_t, std::uint16_t>, ipfix_template> templates_;
    std::size_t template_fields_ = 0; // fields of every template in templates_
    const ipfix_template* data_template_ = nullptr; // the template of the data set being read
    std::optional<input_error> error_;
};

} // namespace

std::unique_ptr<record_reader> open_ipfix_reader(const std::filesystem::path& path) {
    return std::make_unique<ipfix_reader>(path);
}

} // namespace sipdetect_cli
