// sipdetect: what the IPFIX elements of a SIP record mean, shared by the
// program's IPFIX reader (ipfix_reader.cpp) and the ipfixcol2 output plugin
// (examples/ipfixcol2/record_decoder.cpp), so that both read the same fields
// and the same instant from them.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>

namespace sipdetect_cli::ipfix {

inline constexpr std::uint32_t iana = 0, cesnet = 8057, reverse_pen = 29305, flowmon = 39499;

// What a field means. The SIP roles stand in the order of CESNET's elements
// 100 to 108 (sip_call_id is not read); Flowmon's come after them, and
// role_of() never gives them (the program does not read Flowmon's fields).
enum class role : std::uint8_t {
    ignored, src_v4, dst_v4, src_v6, dst_v6, src_port, dst_port, packets, packets_rev,
    end_seconds, end_millis, end_micros, end_nanos, start_seconds, start_millis, start_micros, start_nanos,
    sip_msg_type, sip_status, sip_call_id, sip_calling_party, sip_called_party, sip_via, sip_user_agent,
    sip_request_uri, sip_cseq,
    // Flowmon's (enterprise 39499): 34, 35, 36, 51, 52, 53
    fm_calling_party, fm_called_party, fm_via, fm_user_agent, fm_request_uri, fm_cseq,
    count
};

// The IANA, reverse (RFC 5103) and CESNET elements.
inline role role_of(std::uint32_t pen, std::uint16_t id) noexcept {
    if (pen == iana) {
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
    if (pen == reverse_pen && id == 2) return role::packets_rev; // RFC 5103 reverse packetDeltaCount
    if (pen == cesnet && id >= 100 && id <= 108)
        return static_cast<role>(static_cast<unsigned>(role::sip_msg_type) + (id - 100u));
    return role::ignored;
}

inline bool is_time(role r) noexcept { return r >= role::end_seconds && r <= role::start_nanos; }
// The preference among time fields: flow end before flow start, since
// ipfixprobe's SIP plugin cuts a flow at each message and the flow start can
// be an earlier packet's time.
inline int time_rank(role r) noexcept { return r >= role::start_seconds ? 1 : 0; }

enum class time_unit : std::uint8_t { seconds, milliseconds, microseconds, nanoseconds };

// The unit of a time role.
inline time_unit unit_of(role r) noexcept {
    switch (r) {
    case role::end_seconds:
    case role::start_seconds: return time_unit::seconds;
    case role::end_millis:
    case role::start_millis: return time_unit::milliseconds;
    case role::end_micros:
    case role::start_micros: return time_unit::microseconds;
    default: return time_unit::nanoseconds;
    }
}

// A time field's value `v` (as read big-endian) in microseconds since the
// epoch; nullopt when it is beyond what a record time holds.
// dateTimeMicroseconds/Nanoseconds are NTP timestamps: seconds since 1900,
// then a 32-bit fraction of a second. dateTimeMicroseconds is read as
// ipfixprobe writes it, fraction = usec * 2^32 / 999999, which this inverts
// exactly; a time from an exporter that scales by 10^6 reads up to 1 us early.
inline std::optional<std::int64_t> time_micros(time_unit unit, std::uint64_t v) noexcept {
    constexpr std::int64_t ntp_to_unix_seconds = 2208988800;
    const auto ntp = [v](std::uint64_t fraction_scale, std::int64_t micros_per_unit_divisor) {
        const auto seconds = static_cast<std::int64_t>(v >> 32) - ntp_to_unix_seconds;
        const auto units = static_cast<std::int64_t>(((v & 0xffffffffu) * fraction_scale + (1ull << 31)) >> 32);
        return seconds * 1'000'000 + units / micros_per_unit_divisor;
    };
    switch (unit) {
    case time_unit::seconds: return static_cast<std::int64_t>(v & 0xffffffffu) * 1'000'000; // a 4-byte field
    case time_unit::milliseconds:
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / 1000)) return std::nullopt;
        return static_cast<std::int64_t>(v) * 1000;
    case time_unit::microseconds: return ntp(999'999, 1);
    case time_unit::nanoseconds: return ntp(1'000'000'000, 1000);
    }
    return std::nullopt;
}

} // namespace sipdetect_cli::ipfix
