// sipdetect benchmarks: the integrator's record type and the synthetic workloads.
//
// Every value comes from a fixed-seed splitmix64 stream keyed by (part,
// source, item), so a workload is the same on every machine and standard
// library, whatever order it is materialised in.
#pragma once

#include <sipdetect/sipdetect.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// A collector's record for one SIP message, as filled from ipfixprobe's SIP
// plugin. Text fields are views into the collector's receive buffers (here
// one text_arena per workload), so the record is described to sipdetect by
// its conventional member names alone. No sent_by member: records are
// oriented as sent (a response's source is the responder).
struct sip_flow {
    sipdetect::record_time time{};
    sipdetect::ip_address src, dst;
    std::uint16_t src_port = 0, dst_port = 0;
    sipdetect::sip_method method = sipdetect::sip_method::unknown;
    std::uint16_t status = 0; // 0 for a request
    std::uint8_t via_count = 0;
    std::string_view request_uri, from_uri, to_uri, user_agent;
};
static_assert(sipdetect::flow_record<sip_flow>);

// Append-only text storage; views into it stay valid for its lifetime.
class text_arena {
public:
    std::string_view put(std::string_view s) {
        if (s.size() > chunk_size - used_) {
            chunks_.emplace_back(new char[std::max(chunk_size, s.size())]);
            used_ = 0;
        }
        char* out = chunks_.back().get() + used_;
        std::memcpy(out, s.data(), s.size());
        used_ += s.size();
        return {out, s.size()};
    }
    std::size_t bytes() const noexcept { return chunks_.size() * chunk_size; }

private:
    static constexpr std::size_t chunk_size = std::size_t{1} << 24;
    std::vector<std::unique_ptr<char[]>> chunks_;
    std::size_t used_ = chunk_size;
};

// ---------------------------------------------------------------------------
// Randomness: splitmix64 only (its output is defined by the code, unlike
// std:: distributions).

constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

class rng {
public:
    constexpr explicit rng(std::uint64_t seed) noexcept : state_(seed) {}
    constexpr std::uint64_t next() noexcept { return splitmix64(state_); }
    // Uniform enough in [0, n) for workload shaping (modulo bias < 2^-40).
    constexpr std::uint32_t below(std::uint32_t n) noexcept { return static_cast<std::uint32_t>(next() % n); }

private:
    std::uint64_t state_;
};

inline constexpr std::uint64_t workload_seed = 0x5d1bde7ec7ULL;

// An independent stream for one (part, source, item).
constexpr rng stream(std::uint64_t part, std::uint64_t source, std::uint64_t item) noexcept {
    std::uint64_t s = workload_seed ^ (part << 56);
    std::uint64_t a = splitmix64(s) ^ source;
    std::uint64_t b = splitmix64(a) ^ item;
    return rng(splitmix64(b));
}

// ---------------------------------------------------------------------------
// Sizes

struct workload_sizes {
    std::uint32_t background_sources = 1'000'000; // 1-8 requests each
    std::uint32_t scanners = 1'000;               // half horizontal, half vertical
    std::uint32_t scan_targets = 10'000;          // per scanner
    std::uint32_t proxies = 200;
    std::uint32_t proxy_uris = 500;               // distinct From URIs per proxy, one request + one 200 each
};

// Detector settings the workloads are built around (reference.md section 6).
inline constexpr std::uint32_t scan_threshold = 100;
inline constexpr std::uint32_t proxy_min_uris = 50;

// SIPDETECT_BENCH_SCALE multiplies source counts and per-source fan-out; the
// floors keep a few scanners and proxies well past the thresholds.
inline double bench_scale() {
    const char* text = std::getenv("SIPDETECT_BENCH_SCALE");
    if (text == nullptr || *text == '\0') return 1.0;
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(v > 0.0 && v <= 4.0))
        throw std::invalid_argument("SIPDETECT_BENCH_SCALE must be a number in (0, 4], got \"" + std::string(text) +
                                    "\"");
    return v;
}

inline workload_sizes sizes_for(double scale) {
    auto scaled = [scale](std::uint32_t full, std::uint32_t floor) {
        const double v = static_cast<double>(full) * scale + 0.5;
        return std::max(floor, static_cast<std::uint32_t>(v));
    };
    workload_sizes s;
    s.background_sources = scaled(1'000'000, 100);
    s.scanners = (scaled(1'000, 4) + 1) & ~1u; // even: half horizontal, half vertical
    s.scan_targets = scaled(10'000, 2 * scan_threshold);
    s.proxies = scaled(200, 4);
    s.proxy_uris = scaled(500, 2 * proxy_min_uris);
    return s;
}

// ---------------------------------------------------------------------------
// Workloads

enum class workload_id : std::uint8_t { background, scanners, proxies, mix };
inline constexpr std::array<workload_id, 4> all_workloads{workload_id::background, workload_id::scanners,
                                                          workload_id::proxies, workload_id::mix};
constexpr const char* name_of(workload_id id) noexcept {
    switch (id) {
    case workload_id::background: return "background";
    case workload_id::scanners: return "scanners";
    case workload_id::proxies: return "proxies";
    case workload_id::mix: return "mix";
    }
    return "?";
}

struct workload {
    workload_id id = workload_id::background;
    workload_sizes sizes;
    std::vector<sip_flow> records;
    text_arena text;
    std::size_t sources = 0;            // distinct requester addresses
    std::size_t expected_scanners = 0;  // distinct sources a correct SIPSCAN reports
    std::size_t expected_vertical = 0;  // of those, the ones whose scan is vertical (the odd scanners)
    std::size_t expected_proxies = 0;   // distinct sources a correct SIPPROXY reports
    std::size_t scan_requests = 0;      // requests SIPSCAN must count (REGISTER/OPTIONS/INVITE, < 2 Via)
};

namespace gen {

using sipdetect::ip_address;
using sipdetect::sip_method;

enum part : std::uint8_t { background_part, scanner_part, proxy_part };

// One unit of traffic: a background or scan request, or a proxied request
// with its 200 answer (kept adjacent through the shuffle).
struct unit {
    part kind;
    std::uint32_t source;
    std::uint32_t item;
};

inline constexpr std::uint32_t whole_source = 0xffffffffu; // item key of per-source draws

inline ip_address v6(std::uint64_t high, std::uint64_t low) {
    std::array<std::uint8_t, 16> b{};
    for (std::size_t i = 0; i < 8; ++i) {
        b[i] = static_cast<std::uint8_t>(high >> (56 - 8 * i));
        b[8 + i] = static_cast<std::uint8_t>(low >> (56 - 8 * i));
    }
    return ip_address::from_bytes(b);
}

inline void append_number(std::string& out, std::uint64_t v, int width = 0) {
    char buf[24];
    int n = 0;
    do {
        buf[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n < width) buf[n++] = '0';
    while (n > 0) out += buf[--n];
}

inline void append_v4(std::string& out, std::uint32_t a) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        append_number(out, (a >> shift) & 0xffu);
        if (shift != 0) out += '.';
    }
}

// URIs are 40-60 bytes: short ones get a filler parameter.
inline void pad_to(std::string& uri, std::size_t length) {
    if (uri.size() + 4 > length) return;
    uri += ";x=";
    while (uri.size() < length) uri += static_cast<char>('a' + uri.size() % 26);
}

constexpr std::array<std::string_view, 8> phone_agents{
    "Yealink SIP-T46S 66.86.0.15",       "Grandstream GXP2170 1.0.11.23", "Cisco/SPA504G-7.6.2",
    "Linphone/5.0.5 (belle-sip/5.0.0)",  "Zoiper rv2.10.19.2",            "PolycomVVX-VVX_411-UA/6.4.3.5018",
    "MicroSIP/3.21.3",                   "Fanvil X4U 2.12.1.2"};
// Known tools, and tools posing as PBXs (the library matches those on every request).
constexpr std::array<std::string_view, 6> scanner_agents{
    "friendly-scanner", "sipcli/v1.8", "VaxSIPUserAgent/3.1", "pplsip", "Asterisk PBX 16.2.1", "Z 5.5.12 v2.10.18.3"};
constexpr std::array<std::string_view, 4> proxy_agents{"Kamailio (5.6.4 (x86_64/linux))", "OpenSIPS (3.2.4 (x86_64/linux))",
                                                       "Asterisk PBX 18.9.0", "FreeSWITCH-mod_sofia/1.10.9"};

template <std::size_t N>
std::string_view pick(rng& r, const std::array<std::string_view, N>& choices) {
    return choices[r.below(static_cast<std::uint32_t>(N))];
}

struct registrar {
    ip_address address;
    std::string_view domain;
};
inline const std::array<registrar, 6>& registrars() {
    static const std::array<registrar, 6> r{{
        {ip_address::from_v4(0xc6120001u), "voip.provider-1.example.net"}, // 198.18.0.1
        {ip_address::from_v4(0xc6120002u), "voip.provider-2.example.net"},
        {ip_address::from_v4(0xc6120003u), "voip.provider-3.example.net"},
        {ip_address::from_v4(0xc6120004u), "voip.provider-4.example.net"},
        {v6(0x20010db8ffff0000ULL, 1), "voip.provider-5.example.net"},
        {v6(0x20010db8ffff0000ULL, 2), "voip.provider-6.example.net"},
    }};
    return r;
}

class builder {
public:
    explicit builder(workload& w) : w_(w) {}

    std::uint32_t records_of(const unit& u) const noexcept { return u.kind == proxy_part ? 2u : 1u; }

    // Materialises one unit at record times t, t + step, ...
    void emit(const unit& u, sipdetect::record_time& t, sipdetect::record_duration step) {
        switch (u.kind) {
        case background_part: background(u.source, u.item, t); break;
        case scanner_part: scan(u.source, u.item, t); break;
        case proxy_part:
            proxied(u.source, u.item, t, t + step);
            t += step;
            break;
        }
        t += step;
    }

    static std::uint32_t background_requests(std::uint32_t s) noexcept {
        rng r = stream(background_part, s, whole_source);
        return 1 + r.below(8);
    }

private:
    std::string_view put(const std::string& s) { return w_.text.put(s); }
    sip_flow& add(sipdetect::record_time t) {
        sip_flow& f = w_.records.emplace_back();
        f.time = t;
        return f;
    }

    // A phone: 90 % IPv4, REGISTER and OPTIONS keep-alives to its registrar, a few calls.
    void background(std::uint32_t s, std::uint32_t item, sipdetect::record_time t) {
        rng sr = stream(background_part, s, whole_source);
        sr.next(); // the request count
        const bool is_v6 = sr.below(10) == 0;
        const registrar& reg = registrars()[is_v6 ? 4 + sr.below(2) : sr.below(4)];
        const std::string_view agent = pick(sr, phone_agents);
        const std::uint16_t sport = sr.below(2) == 0 ? 5060 : static_cast<std::uint16_t>(1024 + sr.below(64512));
        const std::size_t from_length = 40 + sr.below(21);

        rng ir = stream(background_part, s, item);
        const std::uint32_t roll = ir.below(100);
        sip_flow& f = add(t);
        f.src = is_v6 ? v6(0x20010db8000b0000ULL, s) : ip_address::from_v4(0x0a000000u + s);
        f.dst = reg.address;
        f.src_port = sport;
        f.dst_port = 5060;
        f.via_count = 1;
        f.user_agent = w_.text.put(agent);

        scratch_ = "sip:+4202";
        append_number(scratch_, s, 8);
        scratch_ += '@';
        scratch_ += reg.domain;
        pad_to(scratch_, from_length);
        f.from_uri = put(scratch_);

        scratch_ = "sip:";
        scratch_ += reg.domain;
        if (roll < 55) { // REGISTER: To is the registering AOR
            f.method = sip_method::register_;
            f.request_uri = put(scratch_);
            f.to_uri = w_.text.put(f.from_uri);
        } else if (roll < 90) { // OPTIONS keep-alive to the registrar: no user
            f.method = sip_method::options;
            f.request_uri = put(scratch_);
            pad_to(scratch_, 40 + ir.below(21));
            f.to_uri = put(scratch_);
        } else { // a call
            f.method = sip_method::invite;
            scratch_ = "sip:+4203";
            append_number(scratch_, ir.below(100'000'000), 8);
            scratch_ += '@';
            scratch_ += reg.domain;
            f.request_uri = put(scratch_);
            pad_to(scratch_, 40 + ir.below(21));
            f.to_uri = put(scratch_);
        }
    }

    // Even scanners sweep hosts with OPTIONS for user 100 (svmap), odd ones
    // enumerate extensions at one PBX with REGISTER (svwar). One From each.
    void scan(std::uint32_t j, std::uint32_t k, sipdetect::record_time t) {
        rng sr = stream(scanner_part, j, whole_source);
        const std::string_view agent = pick(sr, scanner_agents);
        const bool horizontal = j % 2 == 0;
        const std::size_t from_length = 40 + sr.below(21);

        rng ir = stream(scanner_part, j, k);
        sip_flow& f = add(t);
        f.src = j % 10 == 9 ? v6(0x20010db8005c0000ULL, j) : ip_address::from_v4(0xc6130000u + j); // 198.19/16
        f.src_port = 5060;
        f.dst_port = 5060;
        f.via_count = 1;
        f.user_agent = w_.text.put(agent);
        scratch_ = "sip:100@1.1.1.1";
        pad_to(scratch_, from_length);
        f.from_uri = put(scratch_);

        std::uint32_t host = 0;
        scratch_ = "sip:";
        if (horizontal) {
            f.method = sip_method::options;
            host = 0x64400000u + ((j * 40503u + k * 97u) & 0x3fffffu); // distinct within 100.64/10
            scratch_ += "100";
        } else {
            f.method = sip_method::register_;
            host = 0x64400000u + ((j * 40503u + 0x200000u) & 0x3fffffu);
            append_number(scratch_, 1000 + std::uint64_t{k});
        }
        f.dst = ip_address::from_v4(host);
        scratch_ += '@';
        append_v4(scratch_, host);
        f.request_uri = put(scratch_);
        pad_to(scratch_, 40 + ir.below(21));
        f.to_uri = put(scratch_);
    }

    // A proxy relays REGISTER and INVITE for its users (two Via) to one of
    // four upstream servers; each is answered 200, sent by the server.
    void proxied(std::uint32_t p, std::uint32_t u, sipdetect::record_time t, sipdetect::record_time answer) {
        rng sr = stream(proxy_part, p, whole_source);
        const std::string_view agent = pick(sr, proxy_agents);
        const ip_address proxy = ip_address::from_v4(0xac100000u + p); // 172.16/12
        rng ir = stream(proxy_part, p, u);
        const ip_address peer = ip_address::from_v4(0xac140000u + p * 4 + ir.below(4));
        const bool is_register = ir.below(2) == 0;

        sip_flow& f = add(t);
        f.src = proxy;
        f.dst = peer;
        f.src_port = 5060;
        f.dst_port = 5060;
        f.via_count = 2;
        f.user_agent = w_.text.put(agent);
        f.method = is_register ? sip_method::register_ : sip_method::invite;
        std::string domain = "pbx-";
        append_number(domain, p);
        domain += ".example.org";
        scratch_ = "sip:user";
        append_number(scratch_, u, 4);
        scratch_ += '@';
        scratch_ += domain;
        pad_to(scratch_, 40 + ir.below(21));
        f.from_uri = put(scratch_);
        if (is_register) {
            f.to_uri = w_.text.put(f.from_uri);
            f.request_uri = w_.text.put("sip:" + domain);
        } else {
            scratch_ = "sip:+4204";
            append_number(scratch_, ir.below(100'000'000), 8);
            scratch_ += "@carrier.example.com";
            f.request_uri = put(scratch_);
            pad_to(scratch_, 40 + ir.below(21));
            f.to_uri = put(scratch_);
        }
        const sip_flow request = f;

        sip_flow& a = add(answer);
        a.src = peer;
        a.dst = proxy;
        a.src_port = 5060;
        a.dst_port = 5060;
        a.via_count = 2;
        a.method = request.method; // the CSeq method
        a.status = 200;
        a.from_uri = w_.text.put(request.from_uri);
        a.to_uri = w_.text.put(request.to_uri);
    }

    workload& w_;
    std::string scratch_;
};

inline void shuffle(std::vector<unit>& units, std::uint64_t seed) {
    rng r(seed);
    for (std::size_t i = units.size(); i > 1; --i) {
        const auto j = static_cast<std::size_t>(r.next() % i);
        std::swap(units[i - 1], units[j]);
    }
}

} // namespace gen

// Records each workload will hold, without building it.
inline std::size_t record_count(workload_id id, const workload_sizes& sizes) {
    std::size_t background = 0;
    for (std::uint32_t s = 0; s < sizes.background_sources; ++s) background += gen::builder::background_requests(s);
    const std::size_t scans = std::size_t{sizes.scanners} * sizes.scan_targets;
    const std::size_t proxied = 2 * std::size_t{sizes.proxies} * sizes.proxy_uris;
    switch (id) {
    case workload_id::background: return background;
    case workload_id::scanners: return scans;
    case workload_id::proxies: return proxied;
    case workload_id::mix: return background + scans + proxied;
    }
    return 0;
}

// Builds one workload: units of traffic, shuffled, then records materialised
// in their final order (so the text lies in record order, as in a
// collector's buffers) with record times 100 us apart (10,000 records/s).
inline std::unique_ptr<workload> make_workload(workload_id id, const workload_sizes& sizes) {
    using gen::unit;
    auto w = std::make_unique<workload>();
    w->id = id;
    w->sizes = sizes;
    std::vector<unit> units;
    const bool bg = id == workload_id::background || id == workload_id::mix;
    const bool sc = id == workload_id::scanners || id == workload_id::mix;
    const bool px = id == workload_id::proxies || id == workload_id::mix;
    std::size_t record_count = 0;
    if (bg) {
        for (std::uint32_t s = 0; s < sizes.background_sources; ++s) {
            const std::uint32_t n = gen::builder::background_requests(s);
            for (std::uint32_t i = 0; i < n; ++i) units.push_back({gen::background_part, s, i});
            record_count += n;
        }
        w->sources += sizes.background_sources;
    }
    if (sc) {
        for (std::uint32_t j = 0; j < sizes.scanners; ++j)
            for (std::uint32_t k = 0; k < sizes.scan_targets; ++k) units.push_back({gen::scanner_part, j, k});
        record_count += std::size_t{sizes.scanners} * sizes.scan_targets;
        w->sources += sizes.scanners;
        w->expected_scanners = sizes.scanners;
        w->expected_vertical = sizes.scanners / 2;
    }
    if (px) {
        for (std::uint32_t p = 0; p < sizes.proxies; ++p)
            for (std::uint32_t u = 0; u < sizes.proxy_uris; ++u) units.push_back({gen::proxy_part, p, u});
        record_count += 2 * std::size_t{sizes.proxies} * sizes.proxy_uris;
        w->sources += sizes.proxies;
        w->expected_proxies = sizes.proxies;
    }
    gen::shuffle(units, workload_seed + static_cast<std::uint64_t>(id));

    w->records.reserve(record_count);
    gen::builder b(*w);
    sipdetect::record_time t = sipdetect::record_time_from_micros(1'709'251'200'000'000); // 2024-03-01T00:00:00Z
    const sipdetect::record_duration step{100};
    for (const unit& u : units) b.emit(u, t, step);
    for (const sip_flow& f : w->records) {
        using sipdetect::sip_method;
        const bool scanned_method =
            f.method == sip_method::register_ || f.method == sip_method::options || f.method == sip_method::invite;
        if (f.status == 0 && f.via_count < 2 && scanned_method) ++w->scan_requests;
    }
    return w;
}

} // namespace bench
