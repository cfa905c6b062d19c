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

#include "ipfix_time.hpp"
#include "readers_detail.hpp"

#include <libfds.h>

#include <array>
#include <cstddef>
#include <optional>
#include <span>

namespace sipdetect_ipfixcol2 {
namespace {

constexpr std::uint32_t iana = 0, cesnet = 8057, reverse_pen = 29305, flowmon = 39499;

// What a field means to the plugin; the first field of each role is read.
enum class role : std::uint8_t {
    ignored, src_v4, dst_v4, src_v6, dst_v6, src_port, dst_port, packets, packets_rev,
    end_seconds, end_millis, end_micros, end_nanos, start_seconds, start_millis, start_micros, start_nanos,
    // ipfixprobe's (CESNET 8057/100-108; 102 SIPCallID is not read)
    sip_msg_type, sip_status, sip_calling_party, sip_called_party, sip_via, sip_user_agent, sip_request_uri, sip_cseq,
    // Flowmon's (39499)
    fm_calling_party, fm_called_party, fm_via, fm_user_agent, fm_request_uri, fm_cseq,
    count
};

role iana_role(std::uint16_t id) noexcept {
    switch (id) {
    case 8: return role::src_v4;
    case 12: return role::dst_v4;
    case 27: return role::src_v6;
    case 28: return role::dst_v6;
    case 7: return role::src_port;
    case 11: return role::dst_port;
    case 2: return role::packets; // packetDeltaCount
    case 150: return role::start_seconds;
    case 151: return role::end_seconds;
    case 152: return role::start_millis;
    case 153: return role::end_millis;
    case 154: return role::start_micros;
    case 155: return role::end_micros;
    case 156: return role::start_nanos;
    case 157: return role::end_nanos;
    default: return role::ignored;
    }
}

role cesnet_role(std::uint16_t id) noexcept {
    switch (id) {
    case 100: return role::sip_msg_type;
    case 101: return role::sip_status;
    case 103: return role::sip_calling_party;
    case 104: return role::sip_called_party;
    case 105: return role::sip_via;
    case 106: return role::sip_user_agent;
    case 107: return role::sip_request_uri;
    case 108: return role::sip_cseq;
    default: return role::ignored;
    }
}

role flowmon_role(std::uint16_t id) noexcept {
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

role role_of(std::uint32_t pen, std::uint16_t id) noexcept {
    switch (pen) {
    case iana: return iana_role(id);
    case reverse_pen: return id == 2 ? role::packets_rev : role::ignored; // RFC 5103 reverse packetDeltaCount
    case cesnet: return cesnet_role(id);
    case flowmon: return flowmon_role(id);
    default: return role::ignored;
    }
}

bool is_end_time(role r) noexcept { return r >= role::end_seconds && r <= role::end_nanos; }
bool is_start_time(role r) noexcept { return r >= role::start_seconds && r <= role::start_nanos; }

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

sipdetect_cli::ipfix_time_unit unit_of(role r) noexcept {
    switch (r) {
    case role::end_seconds:
    case role::start_seconds: return sipdetect_cli::ipfix_time_unit::seconds;
    case role::end_millis:
    case role::start_millis: return sipdetect_cli::ipfix_time_unit::milliseconds;
    case role::end_micros:
    case role::start_micros: return sipdetect_cli::ipfix_time_unit::microseconds;
    default: return sipdetect_cli::ipfix_time_unit::nanoseconds;
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
        if (is_end_time(r) && (!fields.time || is_start_time(*fields.time))) fields.time = r;
        if (is_start_time(r) && !fields.time) fields.time = r;
    }
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
    r.from_uri = f.text(role::sip_calling_party);
    r.to_uri = f.text(role::sip_called_party);
    r.user_agent = f.text(role::sip_user_agent);
    r.via_count = sipdetect_cli::detail::count_via_values(f.text(role::sip_via));
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
    r.from_uri = f.text(role::fm_calling_party);
    r.to_uri = f.text(role::fm_called_party);
    r.user_agent = f.text(role::fm_user_agent);
    r.via_count = sipdetect_cli::detail::count_via_values(f.text(role::fm_via));
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
    const std::optional<std::int64_t> micros = sipdetect_cli::ipfix_time_micros(unit_of(*f.time), f.number(*f.time));
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
