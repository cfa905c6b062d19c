// sipdetect: fingerprints of known SIP scanning tools.
//
// User agents are trivially changed, so a match only corroborates what the
// behaviour already showed; it never creates or suppresses an event.
#pragma once

#include <sipdetect/version.hpp>

#include <array>
#include <cstdint>
#include <string_view>

SIPDETECT_NAMESPACE_BEGIN
namespace detail {

struct tool_fingerprint {
    std::string_view needle; // case-insensitive substring of the User-Agent
    std::string_view tool;
};

// Sources: reference.md section 3 (svmap, svwar, svcrack, sippts, sipcli, ...).
inline constexpr std::array<tool_fingerprint, 11> scanner_user_agents{{
    {"friendly-scanner", "sipvicious"},
    {"sipvicious", "sipvicious"},
    {"zeeko", "sipvicious"},
    {"pplsip", "sippts"},
    {"sipcli", "sipcli"},
    {"vaxsipuseragent", "vaxsip"},
    {"sipsak", "sipsak"},
    {"iwar", "iwar"},
    {"smap", "smap"},
    {"sivus", "sivus"},
    {"sundayddr", "sundayddr"},
}};

inline constexpr std::string_view sundayddr_from_user = "sipsscuser";

constexpr bool contains_nocase(std::string_view hay, std::string_view needle) noexcept {
    if (needle.size() > hay.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
        std::size_t k = 0;
        while (k < needle.size()) {
            char c = hay[i + k];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            if (c != needle[k]) break;
            ++k;
        }
        if (k == needle.size()) return true;
    }
    return false;
}

// 0 when nothing matches, else 1 + the index into scanner_user_agents
// (or the sundayddr From-user marker).
constexpr std::uint8_t match_scanner_tool(std::string_view user_agent, std::string_view from_user) noexcept {
    user_agent = user_agent.substr(0, 256);
    for (std::size_t i = 0; i < scanner_user_agents.size(); ++i)
        if (contains_nocase(user_agent, scanner_user_agents[i].needle)) return static_cast<std::uint8_t>(i + 1);
    if (from_user == sundayddr_from_user) return static_cast<std::uint8_t>(scanner_user_agents.size()); // sundayddr
    return 0;
}

constexpr std::string_view scanner_tool_name(std::uint8_t id) noexcept {
    if (id == 0 || id > scanner_user_agents.size()) return {};
    return scanner_user_agents[id - 1u].tool;
}

} // namespace detail
SIPDETECT_NAMESPACE_END
