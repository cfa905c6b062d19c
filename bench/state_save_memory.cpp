// Peak memory of saving and loading a large state (bench/README.md "Saving
// state"). Feeds N sources, one request each, into a scan detector, then
// saves its state to PATH if one is given; or loads PATH. Run it under
// `/usr/bin/time -v`: the maximum resident set size of a save or a load,
// less that of feeding only, is what the save or load itself takes.
//
//   sipdetect_state_save_memory 1000000            # feed only
//   sipdetect_state_save_memory 1000000 /tmp/s.st  # feed, then save
//   sipdetect_state_save_memory load /tmp/s.st     # load
#include <sipdetect/sipdetect.hpp>
#include <sipdetect/state_file.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

struct flow {
    sipdetect::record_time time;
    sipdetect::ip_address src, dst;
    std::uint16_t src_port = 5060, dst_port = 5060;
    sipdetect::sip_method method = sipdetect::sip_method::options;
    std::uint16_t status = 0;
    std::string from_uri, to_uri, user_agent;
    unsigned via_count = 1;
};

} // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: %s SOURCES [STATE_PATH] | %s load STATE_PATH\n", argv[0], argv[0]);
        return 2;
    }
    if (argc == 3 && std::string(argv[1]) == "load") {
        sipdetect::scan_config config;
        config.max_tracked = std::size_t{1} << 30;
        sipdetect::scan_detector<flow> scans(config);
        sipdetect::load_state_file(argv[2], scans);
        std::printf("%llu sources loaded\n", static_cast<unsigned long long>(scans.stats().tracked));
        return 0;
    }
    const auto sources = static_cast<std::uint32_t>(std::strtoul(argv[1], nullptr, 10));
    sipdetect::scan_config config;
    config.max_tracked = 2 * static_cast<std::size_t>(sources) + 1;
    sipdetect::scan_detector<flow> scans(config);
    flow f;
    f.dst = sipdetect::ip_address::parse("192.0.2.1");
    f.to_uri = "sip:100@192.0.2.1";
    const auto t0 = sipdetect::record_time{std::chrono::seconds{1'700'000'000}};
    for (std::uint32_t i = 0; i < sources; ++i) {
        f.time = t0 + std::chrono::microseconds{i};
        f.src = sipdetect::ip_address::from_v4(0x0a000000u + i);
        scans.feed(f);
    }
    std::printf("%llu sources tracked\n", static_cast<unsigned long long>(scans.stats().tracked));
    if (argc == 3) {
        sipdetect::save_state_file(argv[2], scans);
        std::printf("state: %llu bytes\n", static_cast<unsigned long long>(std::filesystem::file_size(argv[2])));
    }
    return 0;
}
