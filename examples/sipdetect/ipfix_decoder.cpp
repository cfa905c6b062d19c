// sipdetect command-line program: the IPFIX message decoder (see ipfix_decoder.hpp).
#include "ipfix_decoder.hpp"

#include "readers_detail.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

namespace sipdetect_cli {

namespace {

constexpr std::uint16_t template_set_id = 2, options_template_set_id = 3, first_data_set_id = 256;
constexpr std::uint16_t variable_length = 0xffff;

std::string element_name(std::uint32_t pen, std::uint16_t id) {
    return pen == ipfix::iana ? "element " + std::to_string(id) : "element " + std::to_string(pen) + "/" + std::to_string(id);
}

} // namespace

void ipfix_decoder::fail_here(const std::string& what) const { throw ipfix_defect(what); }

void ipfix_decoder::start_message(std::uint64_t session, std::span<const std::uint8_t> message, clock::time_point now) {
    data_template_ = nullptr;
    message_.clear();
    pos_ = set_end_ = 0;
    if (message.size() < ipfix_message_header_size)
        fail_here("message of " + std::to_string(message.size()) + " bytes, shorter than its header");
    const std::uint16_t version = detail::be16(message.data());
    const std::size_t length = detail::be16(message.data() + 2);
    if (version != ipfix_version)
        fail_here("version " + std::to_string(version) + ", expected 10 (IPFIX)" +
                  (version == 9 ? "; NetFlow v9 is not read" : ""));
    if (length != message.size())
        fail_here("message length field " + std::to_string(length) + " is not the message's size (" +
                  std::to_string(message.size()) + " bytes)");
    message_.assign(message.begin(), message.end());
    session_ = session;
    domain_ = detail::be32(message_.data() + 12);
    now_ = now;
    pos_ = set_end_ = ipfix_message_header_size;
    ++counters_.ipfix_messages;
}

bool ipfix_decoder::next(input_record& out) {
    try {
        for (;;) {
            if (data_template_ != nullptr && set_end_ - pos_ >= data_template_->min_record_length) {
                if (decode_record(*data_template_, out)) {
                    ++counters_.sip_messages;
                    ++counters_.records;
                    return true;
                }
                ++counters_.skipped_records;
                continue;
            }
            data_template_ = nullptr; // what is left of the set is padding
            pos_ = set_end_;
            if (pos_ >= message_.size()) return false;
            start_set();
        }
    } catch (const ipfix_defect&) {
        data_template_ = nullptr;
        pos_ = set_end_ = message_.size(); // the rest of the message is not read
        throw;
    }
}

void ipfix_decoder::start_set() {
    set_start_ = pos_;
    if (message_.size() - pos_ < 4)
        fail_here(set_place() + ": " + std::to_string(message_.size() - pos_) + " bytes left, too few for a set header");
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
        const auto t = templates_.find({session_, domain_, id});
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

std::uint64_t ipfix_decoder::take(std::size_t n, const char* what) {
    if (set_end_ - pos_ < n) fail_here(set_place() + ": " + what + " runs past the end of the set");
    const std::uint64_t v = detail::read_be(bytes(pos_, n));
    pos_ += n;
    return v;
}

void ipfix_decoder::read_templates(bool options) {
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
                fail_here(set_place() + ": options template " + std::to_string(id) + " has " + std::to_string(scope) +
                          " scope fields of " + std::to_string(count));
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
            f.meaning = options ? role::ignored : ipfix::role_of(f.pen, f.id);
            check_field(id, f);
            t.fields.push_back(f);
        }
        define(id, std::move(t));
    }
}

void ipfix_decoder::check_field(std::uint16_t template_id, const template_field& f) const {
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

void ipfix_decoder::define(std::uint16_t id, ipfix_template t) {
    bool src = false, dst = false, dst_port = false;
    for (const template_field& f : t.fields) {
        t.min_record_length += f.length == variable_length ? 1 : f.length;
        if (f.meaning == role::sip_msg_type) t.sip = true;
        src = src || f.meaning == role::src_v4 || f.meaning == role::src_v6;
        dst = dst || f.meaning == role::dst_v4 || f.meaning == role::dst_v6;
        dst_port = dst_port || f.meaning == role::dst_port;
        if (ipfix::is_time(f.meaning) && (!t.time_field || ipfix::time_rank(f.meaning) < ipfix::time_rank(*t.time_field)))
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
    t.defined = now_;
    const template_key key{session_, domain_, id};
    const auto old = templates_.find(key);
    if (templates_.size() >= max_templates && old == templates_.end())
        fail_here(set_place() + ": more than " + std::to_string(max_templates) + " templates");
    const std::size_t fields =
        template_fields_ - (old == templates_.end() ? 0 : old->second.fields.size()) + t.fields.size();
    if (fields > max_template_fields)
        fail_here(set_place() + ": the templates would hold more than " + std::to_string(max_template_fields) +
                  " fields");
    template_fields_ = fields;
    templates_[key] = std::move(t);
    ++counters_.ipfix_templates;
}

ipfix_decoder::template_map::iterator ipfix_decoder::erase_template(template_map::iterator it) {
    template_fields_ -= it->second.fields.size();
    return templates_.erase(it);
}

// A template id equal to the set id withdraws every template of that kind in the domain (RFC 7011 §8.1).
void ipfix_decoder::withdraw(std::uint16_t id, bool options) {
    const bool all = id == (options ? options_template_set_id : template_set_id);
    if (!all) {
        if (const auto it = templates_.find({session_, domain_, id}); it != templates_.end()) erase_template(it);
        return;
    }
    auto it = templates_.lower_bound({session_, domain_, 0});
    while (it != templates_.end() && it->first.session == session_ && it->first.domain == domain_)
        it = it->second.options == options ? erase_template(it) : std::next(it);
}

void ipfix_decoder::forget_session(std::uint64_t session) {
    auto it = templates_.lower_bound({session, 0, 0});
    while (it != templates_.end() && it->first.session == session) it = erase_template(it);
}

std::size_t ipfix_decoder::expire_templates(std::uint64_t session, clock::time_point cutoff) {
    std::size_t expired = 0;
    auto it = templates_.lower_bound({session, 0, 0});
    while (it != templates_.end() && it->first.session == session) {
        if (it->second.defined < cutoff) {
            it = erase_template(it);
            ++expired;
        } else {
            ++it;
        }
    }
    return expired;
}

bool ipfix_decoder::has_templates(std::uint64_t session) const {
    const auto it = templates_.lower_bound({session, 0, 0});
    return it != templates_.end() && it->first.session == session;
}

// False for a record of a template without SIP fields.
bool ipfix_decoder::decode_record(const ipfix_template& t, input_record& r) {
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
    const auto address = [&](role v4, role v6) {
        return has(v4) ? sipdetect::ip_address::from_v4_bytes(values[static_cast<std::size_t>(v4)].data())
                       : sipdetect::ip_address::from_v6_bytes(values[static_cast<std::size_t>(v6)].data());
    };

    const auto type = static_cast<unsigned>(value(role::sip_msg_type));
    if (type == 0) return false;
    r = input_record{};
    r.time = time_of(*t.time_field, value(*t.time_field));
    r.src = address(role::src_v4, role::src_v6);
    r.dst = address(role::dst_v4, role::dst_v6);
    r.src_port = static_cast<std::uint16_t>(value(role::src_port));
    r.dst_port = static_cast<std::uint16_t>(value(role::dst_port));
    r.sent_by = has(role::packets) && has(role::packets_rev) && value(role::packets) == 0 && value(role::packets_rev) > 0
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
sipdetect::record_time ipfix_decoder::time_of(role field, std::uint64_t v) const {
    const std::optional<std::int64_t> micros = ipfix::time_micros(ipfix::unit_of(field), v);
    if (!micros) fail_here(set_place() + ": flow time " + std::to_string(v) + " ms is out of range");
    return sipdetect::record_time_from_micros(*micros);
}

} // namespace sipdetect_cli
