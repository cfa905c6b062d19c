// sipdetect: the IPFIX flow time elements (RFC 7011 dateTime*) as microseconds
// since the epoch, shared by the program's IPFIX reader and the ipfixcol2
// output plugin so that both read the same instant from the same field.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>

namespace sipdetect_cli {

enum class ipfix_time_unit : std::uint8_t { seconds, milliseconds, microseconds, nanoseconds };

// The field's value `v` (as read big-endian) in microseconds since the
// epoch; nullopt when it is beyond what a record time holds.
// dateTimeMicroseconds/Nanoseconds are NTP timestamps: seconds since 1900,
// then a 32-bit fraction of a second. dateTimeMicroseconds is read as
// ipfixprobe writes it, fraction = usec * 2^32 / 999999, which this inverts
// exactly; a time from an exporter that scales by 10^6 reads up to 1 us early.
inline std::optional<std::int64_t> ipfix_time_micros(ipfix_time_unit unit, std::uint64_t v) noexcept {
    constexpr std::int64_t ntp_to_unix_seconds = 2208988800;
    const auto ntp = [v](std::uint64_t fraction_scale, std::int64_t micros_per_unit_divisor) {
        const auto seconds = static_cast<std::int64_t>(v >> 32) - ntp_to_unix_seconds;
        const auto units = static_cast<std::int64_t>(((v & 0xffffffffu) * fraction_scale + (1ull << 31)) >> 32);
        return seconds * 1'000'000 + units / micros_per_unit_divisor;
    };
    switch (unit) {
    case ipfix_time_unit::seconds: return static_cast<std::int64_t>(v & 0xffffffffu) * 1'000'000; // a 4-byte field
    case ipfix_time_unit::milliseconds:
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / 1000)) return std::nullopt;
        return static_cast<std::int64_t>(v) * 1000;
    case ipfix_time_unit::microseconds: return ntp(999'999, 1);
    case ipfix_time_unit::nanoseconds: return ntp(1'000'000'000, 1000);
    }
    return std::nullopt;
}

} // namespace sipdetect_cli
