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

// The User-Agent defaults of the public SIP scanning tools (svmap, svwar,
// svcrack, sippts, sipcli, ...), as their sources set them.
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

inline constexpr std::size_t matched_user_agent_bytes = 256;

// 0 when nothing matches, else 1 + the index into scanner_user_agents
// (or the sundayddr From-user marker). The agent is lowered once, so each
// needle is one plain substring search.
constexpr std::uint8_t match_scanner_tool(std::string_view user_agent, std::string_view from_user) noexcept {
    std::array<char, matched_user_agent_bytes> lowered{};
    const std::size_t n = user_agent.size() < lowered.size() ? user_agent.size() : lowered.size();
    for (std::size_t i = 0; i < n; ++i) {
        const char c = user_agent[i];
        lowered[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    const std::string_view hay(lowered.data(), n);
    for (std::size_t i = 0; i < scanner_user_agents.size(); ++i)
        if (hay.find(scanner_user_agents[i].needle) != std::string_view::npos) return static_cast<std::uint8_t>(i + 1);
    if (from_user == sundayddr_from_user) return static_cast<std::uint8_t>(scanner_user_agents.size()); // sundayddr
    return 0;
}

constexpr std::string_view scanner_tool_name(std::uint8_t id) noexcept {
    if (id == 0 || id > scanner_user_agents.size()) return {};
    return scanner_user_agents[id - 1u].tool;
}

} // namespace detail
SIPDETECT_NAMESPACE_END
