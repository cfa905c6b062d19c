// Fuzz target: the address and CIDR parsers (addresses come off the wire in
// Zeek and ipfixprobe logs, filters from the command line and state files).
// Text that parses prints canonically and parses back to the same value;
// any 16 bytes print as text that parses back to them.
#include "fuzz_common.hpp"

#include <sipdetect/address.hpp>
#include <sipdetect/errors.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using sipdetect::ip_address;
using sipdetect::ip_prefix;
using sipdetect::prefix_set;

void round_trip(const ip_address& a) {
    const std::string text = a.to_string();
    FUZZ_CHECK(!text.empty() && text.size() <= 39);
    const auto back = ip_address::try_parse(text);
    FUZZ_CHECK_MSG(back.has_value(), text);
    FUZZ_CHECK_MSG(*back == a, text);
    FUZZ_CHECK(back->to_string() == text);
    FUZZ_CHECK(a.is_v4() == (text.find(':') == std::string::npos));
    // Every address is inside its own host prefix and inside ::/0.
    const ip_prefix host(a, a.is_v4() ? 32u : 128u);
    FUZZ_CHECK(host.contains(a));
    FUZZ_CHECK(ip_prefix(ip_address{}, 0).contains(a));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    if (size >= 16) {
        ip_address::bytes_type b{};
        for (std::size_t i = 0; i < 16; ++i) b[i] = data[i];
        round_trip(ip_address::from_bytes(b));
    }

    if (const auto a = ip_address::try_parse(text)) {
        round_trip(*a);
        FUZZ_CHECK(ip_address::parse(text) == *a);
    } else {
        bool threw = false;
        try {
            (void)ip_address::parse(text);
        } catch (const sipdetect::parse_error& e) {
            threw = std::string_view(e.what()).size() > 0;
        }
        FUZZ_CHECK(threw);
    }

    try {
        const prefix_set set = prefix_set::parse(text);
        const std::string printed = set.to_string();
        const prefix_set again = prefix_set::parse(printed);
        FUZZ_CHECK_MSG(again == set, printed);
        FUZZ_CHECK(again.to_string() == printed);
        for (const ip_prefix& p : set.prefixes()) {
            FUZZ_CHECK(p.contains(p.network()));
            FUZZ_CHECK(set.contains(p.network()));
            FUZZ_CHECK(p.length() <= (p.network().is_v4() ? 32u : 128u));
            round_trip(p.network());
        }
    } catch (const sipdetect::parse_error& e) {
        FUZZ_CHECK(std::string_view(e.what()).size() > 0);
    }
    return 0;
}
