// Someone else's program using sipdetect, built by run.sh against an install
// (find_package, pkg-config), the source tree (add_subdirectory,
// FetchContent) and the recipes' consumers. It checks the version macros and
// the versioned inline namespace, runs a tiny scan detector and prints the event.
#include <sipdetect/sipdetect.hpp>
#if defined(CONSUMER_WITH_FMT)
#include <sipdetect/fmt.hpp>
#endif

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <type_traits>

#if !defined(SIPDETECT_VERSION_MAJOR) || !defined(SIPDETECT_VERSION_MINOR) || \
    !defined(SIPDETECT_VERSION_PATCH) || !defined(SIPDETECT_VERSION_STRING)
#error "sipdetect's version macros are not defined"
#endif
#if !defined(SIPDETECT_EXPECTED_VERSION) || !defined(CONSUMER_KIND)
#error "build with -DSIPDETECT_EXPECTED_VERSION=\"x.y.z\" -DCONSUMER_KIND=\"...\""
#endif

static_assert(std::string_view(SIPDETECT_VERSION_STRING) == SIPDETECT_EXPECTED_VERSION,
              "the headers are not the version the package claims");

// sipdetect::v<major>_<minor>, spelled from the version macros.
#define CONSUMER_NS_NAME2(major, minor) v##major##_##minor
#define CONSUMER_NS_NAME(major, minor) CONSUMER_NS_NAME2(major, minor)
namespace versioned = sipdetect::CONSUMER_NS_NAME(SIPDETECT_VERSION_MAJOR, SIPDETECT_VERSION_MINOR);
static_assert(std::is_same_v<versioned::scan_config, sipdetect::scan_config>,
              "sipdetect's inline namespace is not named after its version");
static_assert(std::is_same_v<versioned::proxy_event, sipdetect::proxy_event>);
static_assert(std::is_same_v<versioned::ip_address, sipdetect::ip_address>);

namespace {

struct flow {
    sipdetect::record_time time;
    sipdetect::ip_address src, dst;
    std::uint16_t src_port, dst_port;
    sipdetect::sip_method method;
    std::uint16_t status;
    std::string from_uri, to_uri, user_agent;
};

} // namespace

int main() {
    const std::string composed = std::to_string(SIPDETECT_VERSION_MAJOR) + "." +
                                 std::to_string(SIPDETECT_VERSION_MINOR) + "." +
                                 std::to_string(SIPDETECT_VERSION_PATCH);
    if (composed != SIPDETECT_VERSION_STRING) {
        std::fprintf(stderr, "version macros disagree: %s vs %s\n", composed.c_str(), SIPDETECT_VERSION_STRING);
        return 1;
    }

    sipdetect::scan_config scan_cfg;
    scan_cfg.threshold = 3;
    sipdetect::scan_detector<flow> scans(scan_cfg);
    sipdetect::proxy_detector<flow> proxies; // instantiated too; stays quiet here

    const auto t0 = sipdetect::record_time{std::chrono::seconds{1'471'335'648}};
    const auto scanner = sipdetect::ip_address::parse("147.32.77.113");
    for (std::uint32_t host = 1; host <= 3; ++host) {
        const flow f{t0 + std::chrono::seconds{host}, scanner, sipdetect::ip_address::from_v4(0x93204d00u + host),
                     5060, 5060, sipdetect::sip_method::invite, 0, "sip:100@147.32.77.1", "sip:100@147.32.77.1",
                     "friendly-scanner"};
        scans.feed(f);
        proxies.feed(f);
    }
    const auto events = scans.poll();
    if (events.size() != 1 || !proxies.poll().empty()) {
        std::fprintf(stderr, "expected exactly one scan event\n");
        return 1;
    }
    std::printf("%s\n", sipdetect::to_json(events[0]).c_str());
#if defined(CONSUMER_WITH_FMT)
    fmt::print("fmt: {}\n", events[0]);
#endif
    std::printf("sipdetect %s, namespace sipdetect::v%d_%d, consumed through %s\n", SIPDETECT_VERSION_STRING,
                SIPDETECT_VERSION_MAJOR, SIPDETECT_VERSION_MINOR, CONSUMER_KIND);
    return 0;
}
