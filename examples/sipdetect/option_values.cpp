// sipdetect: the values of the detectors' settings (option_values.hpp).
#include "option_values.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace sipdetect_cli {

void refuse_value(std::string_view option, std::string_view expected, std::string_view text) {
    throw usage_error{fmt::format("{} expects {}, not \"{}\"", option, expected, text)};
}

double parse_days(std::string_view option, std::string_view text) {
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || !std::isfinite(value) || value < 0 ||
        value > 100000)
        refuse_value(option, "a number of days from 0 to 100000", text);
    return value;
}

sipdetect::prefix_set parse_cidrs(std::string_view option, std::string_view text) {
    try {
        return sipdetect::prefix_set::parse(text);
    } catch (const sipdetect::parse_error& e) {
        throw usage_error{fmt::format("{}: {}", option, e.what())};
    }
}

void parse_submethods(std::string_view option, std::string_view list, sipdetect::scan_config& scan) {
    scan.register_scan = scan.options_scan = scan.invite_scan = false;
    std::size_t at = 0;
    while (at <= list.size()) {
        const std::size_t comma = std::min(list.find(',', at), list.size());
        const std::string_view item = list.substr(at, comma - at);
        if (item == "register") scan.register_scan = true;
        else if (item == "options") scan.options_scan = true;
        else if (item == "invite") scan.invite_scan = true;
        else throw usage_error{fmt::format("{}: unknown submethod \"{}\" (use register, options, invite)", option, item)};
        at = comma + 1;
    }
}

sipdetect::proxy_filter_mode parse_proxy_filter_mode(std::string_view option, std::string_view mode) {
    if (mode == "devices" || mode == "12.2") return sipdetect::proxy_filter_mode::exclude_devices;
    if (mode == "internal" || mode == "13.0") return sipdetect::proxy_filter_mode::exclude_internal;
    throw usage_error{fmt::format("{}: \"{}\" is neither devices nor internal", option, mode)};
}

namespace {
template <class Config> void check(std::string_view option, const Config& config) {
    try {
        config.validate();
    } catch (const sipdetect::config_error& e) {
        throw usage_error{fmt::format("{}: {}", option, e.what())};
    }
}
} // namespace

void check_config(std::string_view option, const sipdetect::scan_config& config) { check(option, config); }
void check_config(std::string_view option, const sipdetect::proxy_config& config) { check(option, config); }
void check_config(std::string_view option, const sipdetect::campaign_config& config) { check(option, config); }

void follow_scan_settings(std::string_view option, sipdetect::campaign_config& campaign,
                          const sipdetect::scan_config& scan, bool enabled) {
    campaign.scan_threshold = scan.threshold;
    campaign.register_scan = enabled && scan.register_scan;
    campaign.options_scan = enabled && scan.options_scan;
    campaign.invite_scan = enabled && scan.invite_scan;
    campaign.destination_filter = scan.destination_filter;
    check_config(option, campaign);
}

sipdetect::record_duration parse_duration(std::string_view option, std::string_view text) {
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    const std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
    double seconds_per_unit = 0;
    if (unit == "s") seconds_per_unit = 1;
    else if (unit == "min") seconds_per_unit = 60;
    else if (unit == "h") seconds_per_unit = 3600;
    const double seconds = value * seconds_per_unit;
    if (text.empty() || ec != std::errc{} || seconds_per_unit == 0 || !std::isfinite(seconds) || seconds <= 0 ||
        seconds > 1e9)
        refuse_value(option, "a positive duration with s, min or h (e.g. 30min)", text);
    return sipdetect::record_duration{static_cast<std::int64_t>(seconds * 1e6)};
}

std::optional<std::string> set_threshold(std::string_view option, std::string_view text, sipdetect::scan_config& scan) {
    scan.threshold = parse_integer<std::uint32_t>(option, text);
    const std::uint32_t library_default = sipdetect::scan_config{}.max_distinct;
    scan.max_distinct = std::max(library_default, scan.threshold);
    if (scan.max_distinct == library_default) {
        check_config(option, scan);
        return std::nullopt;
    }
    check_config(fmt::format("{} {} (which raises max_distinct to it)", option, scan.threshold), scan);
    return fmt::format("{} {} is above max_distinct {}, where the distinct targets of a source stop being counted: "
                       "max_distinct raised to {} (more memory per scanning source)",
                       option, scan.threshold, library_default, scan.max_distinct);
}

void set_max_tracked(std::string_view option, std::string_view text, sipdetect::scan_config& scan,
                     sipdetect::proxy_config& proxy) {
    const auto n = parse_integer<std::size_t>(option, text);
    scan.max_tracked = n;
    proxy.max_candidates = n;
    proxy.max_proxies = std::min(sipdetect::proxy_config{}.max_proxies, n);
    check_config(option, scan);
    check_config(option, proxy);
}

} // namespace sipdetect_cli
