// A minimal "embed sipdetect in a collector" program to copy from.
//
// Your collector already has a flow-record type. Describe it to sipdetect
// once (here through conventional member names), construct the detectors,
// feed every record, and poll for events now and then.
#include <sipdetect/sipdetect.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

// The collector's own record type (here: one SIP message per record).
struct my_flow {
    sipdetect::record_time time;
    sipdetect::ip_address src, dst;
    std::uint16_t src_port, dst_port;
    sipdetect::sip_method method;
    std::uint16_t status; // 0 for requests
    std::string from_uri, to_uri, user_agent;
    unsigned via_count;
};

int main() {
    using namespace std::chrono_literals;
    sipdetect::scan_config scan_cfg;
    scan_cfg.threshold = 10;
    sipdetect::scan_detector<my_flow> scans(scan_cfg);

    sipdetect::proxy_config proxy_cfg;
    proxy_cfg.closed_season = 0s; // report new proxies at once in this demo
    proxy_cfg.min_uris = 5;
    sipdetect::proxy_detector<my_flow> proxies(proxy_cfg);

    // Stand-in for the collector's input: an OPTIONS sweep over 12 hosts,
    // then a proxy relaying for 6 users whose calls succeed.
    std::vector<my_flow> flows;
    const auto t0 = sipdetect::record_time{std::chrono::seconds{1'700'000'000}};
    for (std::uint32_t host = 1; host <= 12; ++host)
        flows.push_back({t0 + host * 100ms, sipdetect::ip_address::parse("203.0.113.66"),
                         sipdetect::ip_address::from_v4(0xc6336400u + host), 5060, 5060, sipdetect::sip_method::options,
                         0, "sip:100@1.1.1.1", "sip:100@1.1.1.1", "friendly-scanner", 1});
    for (int user = 0; user < 6; ++user) {
        const std::string uri = "sip:user" + std::to_string(user) + "@example.net";
        const auto t = t0 + std::chrono::seconds{10 + user};
        const auto proxy = sipdetect::ip_address::parse("192.0.2.10");
        const auto pbx = sipdetect::ip_address::parse("192.0.2.20");
        flows.push_back({t, proxy, pbx, 5060, 5060, sipdetect::sip_method::invite, 0, uri, "sip:900@example.net", "", 2});
        flows.push_back({t + 50ms, pbx, proxy, 5060, 5060, sipdetect::sip_method::invite, 200, uri, "sip:900@example.net", "", 2});
    }

    auto print = [](const auto& events) {
        for (const auto& e : events) std::printf("%s\n", sipdetect::to_json(e).c_str());
    };
    for (const my_flow& f : flows) {
        scans.feed(f);   // hot path: no allocation in steady state
        proxies.feed(f);
    }
    print(scans.poll()); // call poll() from a timer, e.g. once a second
    print(proxies.poll());
    print(scans.flush()); // at shutdown: close what is still active
    print(proxies.flush());
    return 0;
}
