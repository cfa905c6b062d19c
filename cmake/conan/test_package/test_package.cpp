// Conan test_package: the packaged headers build a detector and report a scan.
#include <sipdetect/sipdetect.hpp>

#include <chrono>
#include <cstdio>
#include <string>

struct flow {
    sipdetect::record_time time;
    sipdetect::ip_address src, dst;
    std::uint16_t dst_port;
    sipdetect::sip_method method;
    std::uint16_t status;
    std::string from_uri, to_uri;
};

int main() {
    sipdetect::scan_config config;
    config.threshold = 3;
    sipdetect::scan_detector<flow> scans(config);
    const auto t0 = sipdetect::record_time{std::chrono::seconds{1'700'000'000}};
    for (std::uint32_t host = 1; host <= 3; ++host)
        scans.feed(flow{t0 + std::chrono::seconds{host}, sipdetect::ip_address::parse("203.0.113.66"),
                        sipdetect::ip_address::from_v4(0xc6336400u + host), 5060, sipdetect::sip_method::options, 0,
                        "sip:100@example.net", "sip:100@example.net"});
    const auto events = scans.poll();
    if (events.size() != 1) {
        std::fprintf(stderr, "expected one scan event, got %zu\n", events.size());
        return 1;
    }
    std::printf("sipdetect %s: %s\n", SIPDETECT_VERSION_STRING, sipdetect::to_json(events[0]).c_str());
    return 0;
}
