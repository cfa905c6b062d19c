// sipdetect ipfixcol2 output plugin: its <params> (plugin_config.hpp).
#include "plugin_config.hpp"

#include "option_values.hpp"

#include <libfds.h>

#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string_view>
#include <utility>

namespace sipdetect_ipfixcol2 {
namespace {

enum param : int {
    threshold = 1, submethods, scan_filter, max_tracked, proxy_min_uris, closed_season, time_to_death, proxy_filter,
    proxy_filter_mode, state, checkpoint_interval, output, format, reorder_window
};

// Every parameter is optional and read as text: the values are parsed by
// option_values.hpp, whose messages name the parameter.
const std::array<fds_xml_args, 16> params_schema{{
    FDS_OPTS_ROOT("params"),
    FDS_OPTS_ELEM(threshold, "threshold", FDS_OPTS_T_STRING, FDS_OPTS_P_OPT),
    FDS_OPTS_ELEM(submethods, "submethods", FDS_OPTS_T_STRING, FDS_OPTS_P_OPT),
    FDS_OPTS_ELEM(scan_filter, "scanFilter", FDS_OPTS_T_STRING, FDS_OPTS_P_OPT),
    FDS_OPTS_ELEM(max_tracked, "maxTracked", FDS_OPTS_T_STRING, FDS_OPTS_P_OPT),
    FDS_OPTS_ELEM(proxy_min_uris, "proxyMinUris", FDS_OPTS_T_STRING, FDS_OPTS_P_OPT),
    FDS_OPTS_ELEM(closed_season, "closedSeason", FDS_OPTS_T_STRING, FDS_OPTS_P_OPT),
    FDS_OPTS_ELEM(time_to_death, "timeToDeath", FDS_OPTS_T_STRING, FDS_OPTS_P_OPT),
    FDS_OPTS_ELEM(proxy_filter, "proxyFilter", FDS_OPTS_T_STRING, FDS_OPTS_P_OPT),
    FDS_OPTS_ELEM(proxy_filter_mode, "proxyFilterMode", FDS_OPTS_T_STRING, FDS_OPTS_P_OPT),
    FDS_OPTS_ELEM(state, "state", FDS_OPTS_T_STRING, FDS_OPTS_P_OPT),
    FDS_OPTS_ELEM(checkpoint_interval, "checkpointInterval", FDS_OPTS_T_STRING, FDS_OPTS_P_OPT),
    FDS_OPTS_ELEM(output, "output", FDS_OPTS_T_STRING, FDS_OPTS_P_OPT),
    FDS_OPTS_ELEM(format, "format", FDS_OPTS_T_STRING, FDS_OPTS_P_OPT),
    FDS_OPTS_ELEM(reorder_window, "reorderWindow", FDS_OPTS_T_STRING, FDS_OPTS_P_OPT),
    FDS_OPTS_END,
}};

constexpr std::size_t max_reorder_window = std::size_t{1} << 20;

struct xml_parser_deleter {
    void operator()(fds_xml_t* p) const noexcept { fds_xml_destroy(p); }
};

void apply(plugin_config& c, int id, std::string_view value) {
    using namespace sipdetect_cli;
    switch (id) {
    case threshold:
        if (auto notice = set_threshold("threshold", value, c.scan)) c.notices.push_back(std::move(*notice));
        break;
    case submethods: parse_submethods("submethods", value, c.scan); break;
    case scan_filter: c.scan.destination_filter = parse_cidrs("scanFilter", value); break;
    case max_tracked:
        set_max_tracked("maxTracked", value, c.scan, c.proxy);
        c.campaign.max_tracked = c.scan.max_tracked;
        break;
    case proxy_min_uris:
        c.proxy.min_uris = parse_integer<std::uint32_t>("proxyMinUris", value);
        check_config("proxyMinUris", c.proxy);
        break;
    case closed_season:
        c.proxy.closed_season = sipdetect::days(parse_days("closedSeason", value));
        check_config("closedSeason", c.proxy);
        break;
    case time_to_death:
        c.proxy.time_to_death = sipdetect::days(parse_days("timeToDeath", value));
        check_config("timeToDeath", c.proxy);
        break;
    case proxy_filter: c.proxy.filter = parse_cidrs("proxyFilter", value); break;
    case proxy_filter_mode: c.proxy.filter_mode = parse_proxy_filter_mode("proxyFilterMode", value); break;
    case state:
        if (value.empty()) throw usage_error{"state expects a file name"};
        c.state = std::string(value);
        break;
    case checkpoint_interval:
        c.checkpoint_interval = std::chrono::seconds(parse_integer<std::uint32_t>("checkpointInterval", value));
        break;
    case output:
        if (value.empty()) throw usage_error{"output expects a file name, or - for standard output"};
        if (value == "-") c.output.file.reset();
        else c.output.file = std::string(value);
        break;
    case format:
        if (const auto f = sipdetect_cli::parse_event_format(value)) c.output.format = *f;
        else throw usage_error{fmt::format("format: \"{}\" is none of json, text, idea, cef", value)};
        break;
    case reorder_window:
        c.reorder_window = parse_integer<std::uint32_t>("reorderWindow", value);
        if (c.reorder_window > max_reorder_window)
            throw usage_error{fmt::format("reorderWindow: {} is above {}", value, max_reorder_window)};
        break;
    }
}

} // namespace

plugin_config parse_plugin_config(const char* params) {
    plugin_config c;
    // The sipdetect program's default: every submethod on.
    c.scan.register_scan = c.scan.options_scan = c.scan.invite_scan = true;
    const std::unique_ptr<fds_xml_t, xml_parser_deleter> parser(fds_xml_create());
    if (!parser) throw std::bad_alloc();
    if (fds_xml_set_args(parser.get(), params_schema.data()) != FDS_OK)
        throw sipdetect_cli::usage_error{fmt::format("the parameter schema is refused: {}", fds_xml_last_err(parser.get()))};
    fds_xml_ctx_t* root = fds_xml_parse_mem(parser.get(), params, true);
    if (root == nullptr) throw sipdetect_cli::usage_error{fds_xml_last_err(parser.get())};
    const fds_xml_cont* content = nullptr;
    while (fds_xml_next(root, &content) != FDS_EOC) apply(c, content->id, content->ptr_string);
    // SIPCAMPAIGN runs with the program's defaults, following the SIPSCAN settings.
    sipdetect_cli::follow_scan_settings("threshold", c.campaign, c.scan, true);
    return c;
}

} // namespace sipdetect_ipfixcol2
