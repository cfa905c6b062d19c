// Appended to the README guide's code blocks (README.md, "Integrating it
// into a collector"): runs the guide's functions on a collector's records
// and checks what the page says about them. See README.md in this folder.
#include <cstdlib>
#include <vector>

namespace readme_check {

int failures = 0;

void expect(bool ok, const char* what) {
    std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) ++failures;
}

std::array<std::uint8_t, 16> v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    return {a, b, c, d};
}

std::array<std::uint8_t, 16> v6_doc(std::uint8_t last) { // 2001:db8::<last>
    return {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
}

collector_flow message(std::chrono::system_clock::time_point at, bool ipv6, std::array<std::uint8_t, 16> from_ip,
                       std::array<std::uint8_t, 16> to_ip, std::string cseq, std::uint16_t code, std::string from,
                       std::string to, std::uint8_t vias) {
    return collector_flow{at, ipv6, from_ip, to_ip, 5060, 5060, std::move(cseq), code, std::move(from), to, to,
                          "agent", vias};
}

} // namespace readme_check

int main() {
    using namespace readme_check;
    using std::chrono::milliseconds;
    std::filesystem::remove(state_path);

    const auto scanner = sipdetect::ip_address::try_parse("203.0.113.66");
    const auto proxy = sipdetect::ip_address::try_parse("2001:db8::10");
    expect(scanner && address_of(false, v4(203, 0, 113, 66)) == *scanner, "from_v4_bytes reads network byte order");
    expect(proxy && address_of(true, v6_doc(0x10)) == *proxy, "from_v6_bytes reads network byte order");
    expect(!sipdetect::ip_address::try_parse("not an address"), "try_parse of a non-address is empty");

    restore_state();
    expect(scans.stats().records == 0, "no state file: the detectors start empty");

    // Live traffic, stamped now: an OPTIONS sweep of 25 hosts, and a proxy
    // relaying INVITEs (two Via) for 25 users, every one answered 200.
    const auto now = std::chrono::system_clock::now();
    std::vector<collector_flow> batch;
    for (std::uint8_t i = 1; i <= 25; ++i) {
        const auto at = now + milliseconds{i};
        batch.push_back(message(at, false, v4(203, 0, 113, 66), v4(198, 51, 100, i), "1 OPTIONS", 0,
                                "sip:100@1.1.1.1", "sip:100@1.1.1.1", 1));
        const std::string user = "sip:user" + std::to_string(i) + "@example.net";
        const std::string callee = "sip:9" + std::to_string(i) + "@example.net";
        batch.push_back(message(at, true, v6_doc(0x10), v6_doc(0x20), "1 INVITE", 0, user, callee, 2));
        batch.push_back(message(at + milliseconds{1}, true, v6_doc(0x20), v6_doc(0x10), "1 INVITE", 200, user,
                                callee, 2));
    }
    expect(sipdetect::record_traits<collector_flow>::time(batch[0]) ==
               sipdetect::record_time_from_micros(
                   std::chrono::duration_cast<std::chrono::microseconds>((now + milliseconds{1}).time_since_epoch())
                       .count()),
           "time: the time_point_cast gives microseconds since the epoch");

    on_batch(batch);
    every_second();
    expect(scans.stats().records == batch.size() && proxies.stats().records == batch.size(),
           "feed_all gave every record to both detectors");
    expect(scans.stats().events_started == 1, "one scan starts: the sweep, not the proxy's relayed INVITEs");
    expect(scans.stats().relayed_ignored == 25, "the relayed INVITEs (via_count 2) are not the relay's probing");
    expect(!proxies.is_learned(*proxy), "a poll right after the traffic: the proxy verdict waits for answer_grace");

    save_state();
    const auto tracked = scans.stats().tracked;
    const auto candidates = proxies.stats().candidates;
    scans = decltype(scans){};
    proxies = decltype(proxies){proxy_settings()};
    restore_state();
    expect(scans.stats().tracked == tracked && tracked > 0, "the scans come back from the state file");
    expect(proxies.stats().candidates == candidates && candidates > 0, "the proxy candidates come back too");

    at_end_of_input();
    expect(scans.stats().events_ended == 1, "flush() ends the active scan");
    expect(proxies.is_learned(*proxy) && proxies.stats().learned_in_training == 1 &&
               proxies.stats().new_proxy_events == 0,
           "flush() decides the proxy: learned silently in the ClosedSeason");

    std::filesystem::remove(state_path);
    std::printf("%d failed\n", failures);
    return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
