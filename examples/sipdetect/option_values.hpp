// sipdetect: the values of the detectors' settings, parsed and checked the
// same way wherever they are given: the program's command line and the
// ipfixcol2 output plugin's <params>. Each function names the setting
// (`option`) in the usage_error it throws.
#pragma once

#include "options.hpp"

#include <sipdetect/address.hpp>
#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/clock.hpp>
#include <sipdetect/errors.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace sipdetect_cli {

// Builds the message of a usage_error (fmt stays out of this header).
[[noreturn]] void refuse_value(std::string_view option, std::string_view expected, std::string_view text);

// A whole number of type T; the detectors' validate() judges the range.
template <class T> T parse_integer(std::string_view option, std::string_view text) {
    T value{};
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size())
        refuse_value(option, "a whole number", text);
    return value;
}

// A number of days from 0 to 100000, fractions allowed.
double parse_days(std::string_view option, std::string_view text);

// A comma list of CIDR prefixes.
sipdetect::prefix_set parse_cidrs(std::string_view option, std::string_view text);

// A comma list of register, options, invite: the enabled SIPSCAN submethods.
void parse_submethods(std::string_view option, std::string_view list, sipdetect::scan_config& scan);

// devices (ADS 12.2) or internal (ADS 13.0).
sipdetect::proxy_filter_mode parse_proxy_filter_mode(std::string_view option, std::string_view mode);

// The limits are the library's: a config it refuses is a usage error naming the option.
void check_config(std::string_view option, const sipdetect::scan_config& config);
void check_config(std::string_view option, const sipdetect::proxy_config& config);
void check_config(std::string_view option, const sipdetect::campaign_config& config);

// SIPCAMPAIGN follows SIPSCAN's settings: its members are the sources
// SIPSCAN leaves below its threshold, of the same submethods, to the same
// responders. `enabled` false switches every submethod off. Checks the result.
void follow_scan_settings(std::string_view option, sipdetect::campaign_config& campaign,
                          const sipdetect::scan_config& scan, bool enabled);

// "90s", "30min", "1h", "1.5h": a positive number and its unit.
sipdetect::record_duration parse_duration(std::string_view option, std::string_view text);

// Sets the threshold. Distinct counts stop at max_distinct, so a threshold
// above it could never be reached: max_distinct is raised to the threshold,
// and the notice saying so is returned.
std::optional<std::string> set_threshold(std::string_view option, std::string_view text, sipdetect::scan_config& scan);

// The cap on tracked sources, candidates and proxies.
void set_max_tracked(std::string_view option, std::string_view text, sipdetect::scan_config& scan,
                     sipdetect::proxy_config& proxy);

} // namespace sipdetect_cli
