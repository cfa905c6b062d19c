// sipdetect ipfixcol2 output plugin: a libfds data record as a SIP message.
//
// The meaning is that of the program's IPFIX reader
// (examples/sipdetect/ipfix_reader.cpp), read here through libfds instead of
// a parser of our own: the record time is the flow end (flowEnd*, else
// flowStart*), since ipfixprobe's SIP plugin cuts a flow at each message; and
// a biflow keeps a response in the request's orientation (packetDeltaCount 0,
// its reverse above 0), so such a record was sent by the destination
// (reference.md §2, the direction trap).
#include "record_decoder.hpp"

#include "ipfix_elements.hpp"
#include "readers_detail.hpp"

#include <libfds.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace sipdetect_ipfixcol2 {
namespace {

using sipdetect_cli::ipfix::role;

// The program's elements (ipfix_elements.hpp), and Flowmon's.
role role_of(std::uint32_t pen, std::uint16_t id) noexcept {
    if (pen != sipdetect_cli::ipfix::flowmon) return sipdetect_cli::ipfix::role_of(pen, id);
    switch (id) {
    case 34: return role::fm_calling_party;
    case 35: return role::fm_called_party;
    case 36: return role::fm_via;
    case 51: return role::fm_user_agent;
    case 52: return role::fm_request_uri;
    case 53: return role::fm_cseq;
    default: return role::ignored;
    }
}

// The sizes the plugin accepts for a role's field; text takes any size.
bool size_fits(role r, std::uint16_t size) noexcept {
    switch (r) {
    case role::src_v4:
    case role::dst_v4:
    case role::end_seconds:
    case role::start_seconds: return size == 4;
    case role::src_v6:
    case role::dst_v6: return size == 16;
    case role::end_millis:
    case role::start_millis:
    case role::end_micros:
    case role::start_micros:
    case role::end_nanos:
    case role::start_nanos: return size == 8;
    case role::src_port:
    case role::dst_port:
    case role::sip_msg_type:
    case role::sip_status: return size >= 1 && size <= 2;
    case role::packets:
    case role::packets_rev: return size >= 1 && size <= 8;
    default: return true;
    }
}

// The fields of one record, by role.
struct record_fields {
    std::array<const fds_drec_field*, static_cast<std::size_t>(role::count)> by_role{};
    std::array<fds_drec_field, static_cast<std::size_t>(role::count)> storage; // read only through by_role
    std::optional<role> time; // flowEnd* first, else flowStart*
    bool sip = false;        // a SIP field, of any size
    bool wrong_size = false; // a field to read with a size its type does not allow

    const fds_drec_field* get(role r) const noexcept { return by_role[static_cast<std::size_t>(r)]; }
    // Byte by byte: libfds' fds_get_uint_be loads through a cast pointer,
    // misaligned in a record (UBSan reports it), where fields sit at any byte.
    std::uint64_t number(role r) const noexcept {
        const fds_drec_field* f = get(r);
        return f == nullptr ? 0 : sipdetect_cli::detail::read_be(std::span<const std::uint8_t>(f->data, f->size));
    }
    // Fixed-length text fields are padded with NULs.
    std::string_view text(role r) const noexcept {
        const fds_drec_field* f = get(r);
        if (f == nullptr) return {};
        std::string_view s(reinterpret_cast<const char*>(f->data), f->size);
        while (!s.empty() && s.back() == '\0') s.remove_suffix(1);
        return s;
    }
    sipdetect::ip_address address(role v4, role v6) const noexcept {
        if (const fds_drec_field* f = get(v4)) return sipdetect::ip_address::from_v4_bytes(f->data);
        return sipdetect::ip_address::from_v6_bytes(get(v6)->data);
    }
};

// Collects the fields, the first of each role.
void collect(fds_drec& record, record_fields& fields) noexcept {
    fds_drec_iter it{};
    fds_drec_iter_init(&it, &record, 0);
    while (fds_drec_iter_next(&it) != FDS_EOC) {
        const role r = role_of(it.field.info->en, it.field.info->id);
        const auto slot = static_cast<std::size_t>(r);
        if (r == role::ignored || fields.by_role[slot] != nullptr) continue;
        fields.sip = fields.sip || r >= role::sip_msg_type;
        if (!size_fits(r, it.field.size)) {
            fields.wrong_size = true;
            continue;
        }
        fields.storage[slot] = it.field;
        fields.by_role[slot] = &fields.storage[slot];
        if (sipdetect_cli::ipfix::is_time(r) &&
            (!fields.time || sipdetect_cli::ipfix::time_rank(r) < sipdetect_cli::ipfix::time_rank(*fields.time)))
            fields.time = r;
    }
}

// From, To, User-Agent and the number of Via values.
void read_parties(const record_fields& f, sipdetect_cli::input_record& r, role from, role to, role user_agent,
                  role via) {
    r.from_uri = f.text(from);
    r.to_uri = f.text(to);
    r.user_agent = f.text(user_agent);
    r.via_count = sipdetect_cli::detail::count_via_values(f.text(via));
}

decode_result decode_ipfixprobe(const record_fields& f, sipdetect_cli::input_record& r) {
    const auto type = static_cast<unsigned>(f.number(role::sip_msg_type));
    if (sipdetect_cli::detail::ipfixprobe_is_response(type)) {
        const unsigned status =
            sipdetect_cli::detail::ipfixprobe_status(type, static_cast<unsigned>(f.number(role::sip_status)));
        if (status == 0) return decode_result::no_status;
        r.status = static_cast<std::uint16_t>(status);
        r.method = sipdetect::cseq_method(sipdetect_cli::detail::trim(f.text(role::sip_cseq)));
        r.request_uri.clear();
    } else {
        r.status = 0;
        r.method = sipdetect_cli::detail::ipfixprobe_request_method(type);
        r.request_uri = f.text(role::sip_request_uri);
    }
    read_parties(f, r, role::sip_calling_party, role::sip_called_party, role::sip_user_agent, role::sip_via);
    return decode_result::sip;
}

// Flowmon exports no message type or status code that reference.md
// documents: a record with a Request-URI is a request (responses have
// none), its method that of its CSeq.
decode_result decode_flowmon(const record_fields& f, sipdetect_cli::input_record& r) {
    if (f.get(role::fm_request_uri) == nullptr) return decode_result::no_request;
    r.status = 0;
    r.method = sipdetect::cseq_method(sipdetect_cli::detail::trim(f.text(role::fm_cseq)));
    r.request_uri = f.text(role::fm_request_uri);
    read_parties(f, r, role::fm_calling_party, role::fm_called_party, role::fm_user_agent, role::fm_via);
    return decode_result::sip;
}

} // namespace

decode_result decode(fds_drec& record, sipdetect_cli::input_record& r) {
    if (record.tmplt->type != FDS_TYPE_TEMPLATE) return decode_result::not_sip; // options records
    record_fields f;
    collect(record, f);
    if (!f.sip) return decode_result::not_sip;
    if (f.wrong_size) return decode_result::wrong_size;
    const bool ipfixprobe = f.get(role::sip_msg_type) != nullptr;
    if (ipfixprobe && f.number(role::sip_msg_type) == 0) return decode_result::not_sip;
    if ((f.get(role::src_v4) == nullptr && f.get(role::src_v6) == nullptr) ||
        (f.get(role::dst_v4) == nullptr && f.get(role::dst_v6) == nullptr) || f.get(role::dst_port) == nullptr ||
        !f.time)
        return decode_result::incomplete;
    const std::optional<std::int64_t> micros =
        sipdetect_cli::ipfix::time_micros(sipdetect_cli::ipfix::unit_of(*f.time), f.number(*f.time));
    if (!micros) return decode_result::incomplete;

    const decode_result result = ipfixprobe ? decode_ipfixprobe(f, r) : decode_flowmon(f, r);
    if (result != decode_result::sip) return result;
    r.time = sipdetect::record_time_from_micros(*micros);
    r.src = f.address(role::src_v4, role::src_v6);
    r.dst = f.address(role::dst_v4, role::dst_v6);
    r.src_port = static_cast<std::uint16_t>(f.number(role::src_port));
    r.dst_port = static_cast<std::uint16_t>(f.number(role::dst_port));
    r.sent_by = f.get(role::packets) != nullptr && f.get(role::packets_rev) != nullptr &&
                        f.number(role::packets) == 0 && f.number(role::packets_rev) > 0
                    ? sipdetect::sender::destination
                    : sipdetect::sender::source;
    return decode_result::sip;
}

} // namespace sipdetect_ipfixcol2
