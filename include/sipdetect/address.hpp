// sipdetect: one address type for IPv4 and IPv6, CIDR prefixes and prefix sets.
#pragma once

#include <sipdetect/errors.hpp>
#include <sipdetect/version.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <compare>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

SIPDETECT_NAMESPACE_BEGIN

// An IPv4 or IPv6 address. IPv4 is stored v4-mapped (::ffff:a.b.c.d), so an
// IPv4 address and its v4-mapped IPv6 spelling are the same party.
class ip_address {
public:
    using bytes_type = std::array<std::uint8_t, 16>;

    constexpr ip_address() noexcept = default;

    static constexpr ip_address from_v4(std::uint32_t host_order) noexcept {
        ip_address a;
        a.bytes_[10] = 0xff;
        a.bytes_[11] = 0xff;
        a.bytes_[12] = static_cast<std::uint8_t>(host_order >> 24);
        a.bytes_[13] = static_cast<std::uint8_t>(host_order >> 16);
        a.bytes_[14] = static_cast<std::uint8_t>(host_order >> 8);
        a.bytes_[15] = static_cast<std::uint8_t>(host_order);
        return a;
    }
    static constexpr ip_address from_v4_bytes(const std::uint8_t* four) noexcept {
        return from_v4(std::uint32_t{four[0]} << 24 | std::uint32_t{four[1]} << 16 |
                       std::uint32_t{four[2]} << 8 | std::uint32_t{four[3]});
    }
    static constexpr ip_address from_v6_bytes(const std::uint8_t* sixteen) noexcept {
        ip_address a;
        std::copy(sixteen, sixteen + 16, a.bytes_.begin());
        return a;
    }
    static constexpr ip_address from_bytes(const bytes_type& b) noexcept { return from_v6_bytes(b.data()); }

    // Parses dotted-quad IPv4 or RFC 4291 IPv6 text (no brackets, no zone).
    static std::optional<ip_address> try_parse(std::string_view text) noexcept;
    static ip_address parse(std::string_view text) {
        if (auto a = try_parse(text)) return *a;
        throw parse_error("invalid IP address \"" + std::string(text.substr(0, 64)) + "\"");
    }

    constexpr bool is_v4() const noexcept {
        for (int i = 0; i < 10; ++i)
            if (bytes_[static_cast<std::size_t>(i)] != 0) return false;
        return bytes_[10] == 0xff && bytes_[11] == 0xff;
    }
    constexpr std::uint32_t v4() const noexcept {
        return std::uint32_t{bytes_[12]} << 24 | std::uint32_t{bytes_[13]} << 16 |
               std::uint32_t{bytes_[14]} << 8 | std::uint32_t{bytes_[15]};
    }
    constexpr const bytes_type& bytes() const noexcept { return bytes_; }

    // Canonical text: dotted quad for IPv4 (also when given v4-mapped), RFC 5952 for IPv6.
    std::string to_string() const;

    friend constexpr bool operator==(const ip_address&, const ip_address&) noexcept = default;
    friend constexpr auto operator<=>(const ip_address&, const ip_address&) noexcept = default;

private:
    bytes_type bytes_{};
};

// A CIDR prefix. IPv4 prefixes are kept in the v4-mapped space (length + 96).
class ip_prefix {
public:
    constexpr ip_prefix() noexcept = default;
    ip_prefix(const ip_address& network, unsigned length_in_family);

    static ip_prefix parse(std::string_view text);

    constexpr bool contains(const ip_address& a) const noexcept {
        const auto& n = network_.bytes();
        const auto& b = a.bytes();
        unsigned bits = length_;
        for (std::size_t i = 0; bits > 0; ++i) {
            const unsigned take = bits >= 8 ? 8u : bits;
            const auto mask = static_cast<std::uint8_t>(0xffu << (8 - take));
            if ((n[i] ^ b[i]) & mask) return false;
            bits -= take;
        }
        return true;
    }
    const ip_address& network() const noexcept { return network_; }
    // Length as written for the family (0..32 for IPv4, 0..128 for IPv6).
    unsigned length() const noexcept { return network_.is_v4() && length_ >= 96 ? length_ - 96u : length_; }
    std::string to_string() const { return network_.to_string() + "/" + std::to_string(length()); }

    friend bool operator==(const ip_prefix&, const ip_prefix&) noexcept = default;

private:
    ip_address network_{};
    unsigned length_ = 0; // in the 128-bit space
};

// A list of CIDR prefixes of both families, e.g. "10.0.0.0/8, 2001:db8::/32".
class prefix_set {
public:
    prefix_set() = default;
    explicit prefix_set(std::vector<ip_prefix> prefixes) : prefixes_(std::move(prefixes)) {}

    // Comma- or space-separated CIDRs; a bare address is a host prefix.
    // Throws parse_error naming the offending item.
    static prefix_set parse(std::string_view text);

    bool contains(const ip_address& a) const noexcept {
        return std::any_of(prefixes_.begin(), prefixes_.end(), [&](const ip_prefix& p) { return p.contains(a); });
    }
    bool empty() const noexcept { return prefixes_.empty(); }
    const std::vector<ip_prefix>& prefixes() const noexcept { return prefixes_; }
    void add(const ip_prefix& p) { prefixes_.push_back(p); }
    std::string to_string() const;

    friend bool operator==(const prefix_set&, const prefix_set&) = default;

private:
    std::vector<ip_prefix> prefixes_;
};

// ---------------------------------------------------------------------------

namespace detail {

inline std::optional<std::uint32_t> parse_v4(std::string_view s) noexcept {
    std::uint32_t value = 0;
    int parts = 0;
    std::size_t i = 0;
    while (parts < 4) {
        std::size_t start = i;
        unsigned octet = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
            octet = octet * 10 + static_cast<unsigned>(s[i] - '0');
            ++i;
        }
        const std::size_t len = i - start;
        // Leading zeros are refused: "010" means 8 to some tools and 10 to others.
        if (len == 0 || octet > 255 || (len > 1 && s[start] == '0')) return std::nullopt;
        value = value << 8 | octet;
        ++parts;
        if (parts < 4) {
            if (i >= s.size() || s[i] != '.') return std::nullopt;
            ++i;
        }
    }
    if (i != s.size()) return std::nullopt;
    return value;
}

inline std::optional<ip_address::bytes_type> parse_v6(std::string_view s) noexcept {
    ip_address::bytes_type out{};
    std::array<std::uint16_t, 8> groups{};
    int count = 0;
    int gap_at = -1;
    std::size_t i = 0;
    if (s.size() < 2 || s.size() > 45) return std::nullopt;
    if (s[0] == ':') {
        if (s[1] != ':') return std::nullopt;
        gap_at = 0;
        i = 2;
        if (i == s.size()) return out; // "::"
    }
    while (i < s.size()) {
        if (count == 8) return std::nullopt;
        // An embedded IPv4 tail takes the last two groups.
        const std::size_t next_colon = s.find(':', i);
        const std::string_view piece = s.substr(i, next_colon == std::string_view::npos ? s.size() - i : next_colon - i);
        if (piece.find('.') != std::string_view::npos) {
            if (next_colon != std::string_view::npos || count > 6) return std::nullopt;
            auto v4 = parse_v4(piece);
            if (!v4) return std::nullopt;
            groups[static_cast<std::size_t>(count++)] = static_cast<std::uint16_t>(*v4 >> 16);
            groups[static_cast<std::size_t>(count++)] = static_cast<std::uint16_t>(*v4 & 0xffff);
            i = s.size();
            break;
        }
        if (piece.empty() || piece.size() > 4) return std::nullopt;
        unsigned g = 0;
        for (char c : piece) {
            unsigned d;
            if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
            else return std::nullopt;
            g = g << 4 | d;
        }
        groups[static_cast<std::size_t>(count++)] = static_cast<std::uint16_t>(g);
        i += piece.size();
        if (i == s.size()) break;
        ++i; // the colon
        if (i == s.size()) return std::nullopt; // trailing single colon
        if (s[i] == ':') {
            if (gap_at >= 0) return std::nullopt; // second "::"
            gap_at = count;
            ++i;
        }
    }
    if (gap_at < 0 && count != 8) return std::nullopt;
    if (gap_at >= 0 && count > 7) return std::nullopt;
    std::array<std::uint16_t, 8> full{};
    if (gap_at < 0) {
        full = groups;
    } else {
        const int tail = count - gap_at;
        for (int k = 0; k < gap_at; ++k) full[static_cast<std::size_t>(k)] = groups[static_cast<std::size_t>(k)];
        for (int k = 0; k < tail; ++k)
            full[static_cast<std::size_t>(8 - tail + k)] = groups[static_cast<std::size_t>(gap_at + k)];
    }
    for (std::size_t k = 0; k < 8; ++k) {
        out[2 * k] = static_cast<std::uint8_t>(full[k] >> 8);
        out[2 * k + 1] = static_cast<std::uint8_t>(full[k] & 0xff);
    }
    return out;
}

inline std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

inline std::string quoted_excerpt(std::string_view s) {
    constexpr std::size_t limit = 64;
    std::string out = "\"";
    for (char c : s.substr(0, limit)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    if (s.size() > limit) out += "...";
    out += '"';
    return out;
}

} // namespace detail

inline std::optional<ip_address> ip_address::try_parse(std::string_view text) noexcept {
    if (text.find(':') != std::string_view::npos) {
        if (auto b = detail::parse_v6(text)) return from_bytes(*b);
        return std::nullopt;
    }
    if (auto v = detail::parse_v4(text)) return from_v4(*v);
    return std::nullopt;
}

inline std::string ip_address::to_string() const {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    if (is_v4()) {
        for (std::size_t k = 12; k < 16; ++k) {
            if (k > 12) out += '.';
            out += std::to_string(bytes_[k]);
        }
        return out;
    }
    std::array<unsigned, 8> g{};
    for (std::size_t k = 0; k < 8; ++k) g[k] = unsigned{bytes_[2 * k]} << 8 | bytes_[2 * k + 1];
    // RFC 5952: compress the longest run of two or more zero groups, the first on a tie.
    int best_start = -1, best_len = 0;
    for (int k = 0; k < 8;) {
        if (g[static_cast<std::size_t>(k)] != 0) { ++k; continue; }
        int j = k;
        while (j < 8 && g[static_cast<std::size_t>(j)] == 0) ++j;
        if (j - k > best_len && j - k >= 2) { best_start = k; best_len = j - k; }
        k = j;
    }
    for (int k = 0; k < 8; ++k) {
        if (k == best_start) {
            out += "::";
            k += best_len - 1;
            continue;
        }
        if (k > 0 && !(best_start >= 0 && k == best_start + best_len)) out += ':';
        const unsigned v = g[static_cast<std::size_t>(k)];
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            const unsigned d = (v >> shift) & 0xf;
            if (d != 0 || started || shift == 0) {
                out += hex[d];
                started = true;
            }
        }
    }
    return out;
}

inline ip_prefix::ip_prefix(const ip_address& network, unsigned length_in_family) {
    const bool v4 = network.is_v4();
    if (length_in_family > (v4 ? 32u : 128u))
        throw parse_error("prefix length " + std::to_string(length_in_family) + " exceeds " + (v4 ? "32" : "128"));
    network_ = network;
    length_ = v4 ? length_in_family + 96 : length_in_family;
    // Host bits must be clear: "10.0.0.1/8" is far more often a typo than intent.
    auto bytes = network.bytes();
    for (unsigned bit = length_; bit < 128; ++bit)
        if (bytes[bit / 8] & (0x80u >> (bit % 8)))
            throw parse_error("host bits set in " + network.to_string() + "/" + std::to_string(length_in_family));
}

inline ip_prefix ip_prefix::parse(std::string_view text) {
    const std::string_view t = detail::trim(text);
    const std::size_t slash = t.find('/');
    const std::string_view addr_text = t.substr(0, slash);
    auto addr = ip_address::try_parse(addr_text);
    if (!addr) throw parse_error("invalid CIDR " + detail::quoted_excerpt(t) + ": bad address");
    unsigned length = addr->is_v4() ? 32 : 128;
    if (slash != std::string_view::npos) {
        const std::string_view len_text = t.substr(slash + 1);
        const auto* first = len_text.data();
        const auto* last = first + len_text.size();
        auto [ptr, ec] = std::from_chars(first, last, length);
        if (len_text.empty() || ec != std::errc{} || ptr != last || len_text.size() > 3)
            throw parse_error("invalid CIDR " + detail::quoted_excerpt(t) + ": bad prefix length");
    }
    try {
        return ip_prefix(*addr, length);
    } catch (const parse_error& e) {
        throw parse_error("invalid CIDR " + detail::quoted_excerpt(t) + ": " + e.what());
    }
}

inline prefix_set prefix_set::parse(std::string_view text) {
    prefix_set set;
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t end = text.find_first_of(", \t\n", i);
        const std::string_view item = text.substr(i, end == std::string_view::npos ? text.size() - i : end - i);
        if (!item.empty()) set.add(ip_prefix::parse(item));
        if (end == std::string_view::npos) break;
        i = end + 1;
    }
    return set;
}

inline std::string prefix_set::to_string() const {
    std::string out;
    for (const auto& p : prefixes_) {
        if (!out.empty()) out += ',';
        out += p.to_string();
    }
    return out;
}

SIPDETECT_NAMESPACE_END
