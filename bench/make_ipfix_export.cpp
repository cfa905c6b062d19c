// Writes a large IPFIX export for bench/ipfix_listen.sh: the SIP records of
// the given IPFIX files (ipfixprobe's exports of real captures), repeated
// with varied addresses until at least N records, each repetition shifted
// in time after the previous one, as ipfixprobe exports them
// (tests/ipfix_writer.hpp: its IPv4 template, 16 records per message).
//   usage: sipdetect_make_ipfix_export OUT.ipfix N FILE.ipfix...
#include "sipdetect/readers.hpp"

#include "ipfix_writer.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

// Replica k moves every address into 10.k.x.y / 172.16+k%16... : distinct sources and targets per replica.
sipdetect::ip_address varied(const sipdetect::ip_address& a, std::uint32_t replica, bool source) {
    const auto& b = a.bytes();
    std::array<std::uint8_t, 4> v4{static_cast<std::uint8_t>(source ? 10 : 172),
                                   static_cast<std::uint8_t>(source ? replica & 0xffu : 16 + (replica & 0x0fu)),
                                   static_cast<std::uint8_t>(b[14] ^ (replica >> 8)), b[15]};
    return sipdetect::ip_address::from_v4_bytes(v4.data());
}

} // namespace

int main(int argc, char** argv) {
    std::size_t wanted = 0;
    if (argc < 4 || std::from_chars(argv[2], argv[2] + std::strlen(argv[2]), wanted).ec != std::errc{}) {
        std::cerr << "usage: sipdetect_make_ipfix_export OUT.ipfix N FILE.ipfix...\n";
        return 2;
    }
    std::vector<sipdetect_cli::input_record> base;
    try {
        for (int i = 3; i < argc; ++i) {
            auto reader = sipdetect_cli::open_reader(argv[i]);
            sipdetect_cli::input_record r;
            while (reader->next(r))
                if (r.src.is_v4() && r.dst.is_v4()) base.push_back(r); // the writer's template is IPv4
        }
    } catch (const sipdetect_cli::input_exception& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
    if (base.empty()) {
        std::cerr << "no IPv4 SIP records in the inputs\n";
        return 1;
    }
    // One timeline: the captures' records in time order, a gap between
    // captures (years, some of them) shortened to a minute, so that the
    // repetitions stay within the 32-bit NTP seconds of the export.
    std::stable_sort(base.begin(), base.end(), [](const auto& a, const auto& b) { return a.time < b.time; });
    constexpr std::int64_t longest_gap = 60'000'000, start = 1'700'000'000'000'000;
    std::int64_t previous = sipdetect::micros_of(base.front().time), at = start;
    for (auto& r : base) {
        at += std::min(sipdetect::micros_of(r.time) - previous, longest_gap);
        previous = sipdetect::micros_of(r.time);
        r.time = sipdetect::record_time_from_micros(at);
    }
    const std::int64_t span = at - start + longest_gap;

    std::ofstream out(argv[1], std::ios::binary);
    std::size_t written = 0;
    std::vector<sipdetect_cli::input_record> chunk;
    for (std::uint32_t replica = 0; written < wanted; ++replica) {
        chunk.clear();
        for (const auto& r : base) {
            sipdetect_cli::input_record c = r;
            c.src = varied(r.src, replica, true);
            c.dst = varied(r.dst, replica, false);
            c.time = sipdetect::record_time_from_micros(sipdetect::micros_of(r.time) +
                                                        static_cast<std::int64_t>(replica) * span);
            chunk.push_back(std::move(c));
        }
        const std::string messages = ipfix_writer::ipfixprobe_file(chunk);
        out.write(messages.data(), static_cast<std::streamsize>(messages.size()));
        written += chunk.size();
    }
    if (!out.flush()) {
        std::cerr << argv[1] << ": write error\n";
        return 1;
    }
    std::cout << written << "\n";
    return 0;
}
