// sipdetect command-line program: one event as one line of the chosen format.
//
//   text  the library's {fmt} line (sipdetect/fmt.hpp)
//   json  the library's JSON object (sipdetect/json.hpp)
//   idea  CESNET's IDEA0 alert, one JSON object (https://idea.cesnet.cz)
//   cef   ArcSight Common Event Format, CEF:0|...|extension
//
// Every format writes strings from the network escaped for it, and a line is
// always valid UTF-8 (invalid bytes become U+FFFD or \xNN), so the same line
// is a valid syslog MSG-UTF8. A new event type is one more operator()
// overload of event_formatter.
#pragma once

#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace sipdetect_cli {

enum class event_format { text, json, idea, cef };

// "text", "json", "idea", "cef"; nullopt for anything else.
std::optional<event_format> parse_event_format(std::string_view name);

// RFC 5424 severities the events use.
enum class syslog_severity : std::uint8_t { warning = 4, notice = 5 };

// One event, formatted, with what a syslog message says about it.
struct formatted_event {
    std::string line;        // no newline at its end, none inside
    std::string_view msgid;  // RFC 5424 MSGID: the detector, "sipscan", "sipproxy" or "sipcampaign"
    syslog_severity severity = syslog_severity::notice;
};

// The name an IDEA Node gives itself when --idea-node does not.
inline constexpr std::string_view default_idea_node = "local.sipdetect";

// An IDEA Node.Name: dot-separated words of letters, digits, _ and -, each
// starting with a letter (reverse domain order, as Warden registers clients).
bool valid_idea_node_name(std::string_view name);

class event_formatter {
public:
    explicit event_formatter(event_format format, std::string idea_node = std::string(default_idea_node));

    formatted_event operator()(const sipdetect::scan_event& e);
    formatted_event operator()(const sipdetect::proxy_event& e);
    formatted_event operator()(const sipdetect::campaign_event& e);

    event_format format() const noexcept { return format_; }

private:
    std::string random_uuid(); // RFC 4122 version 4, for IDEA's ID

    event_format format_;
    std::string idea_node_;
    std::mt19937_64 random_;
};

} // namespace sipdetect_cli
