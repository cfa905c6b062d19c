// Test-side shim: the suite is written once and builds against Catch2 v3
// (preferred, when found) or Debian 12's Catch2 2.13.
#pragma once
#if defined(SIPDETECT_CATCH2_V3)
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif

#include <cstdlib>
#include <filesystem>
#include <string>

// Real captures live in ../shared/data beside the checkout and are never
// committed. Outside CI a missing file skips the test visibly; in CI it fails.
inline std::filesystem::path shared_data_dir() {
    if (const char* env = std::getenv("SIPDETECT_SHARED_DATA")) return env;
    return std::filesystem::path(SIPDETECT_SOURCE_DIR) / ".." / "shared" / "data";
}

inline bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && std::string(ci) == "true";
}

// Returns the path, or an empty path after reporting the skip.
#define SIPDETECT_REQUIRE_SHARED_FILE(var, relative)                                                   \
    const std::filesystem::path var = shared_data_dir() / (relative);                                  \
    if (!std::filesystem::exists(var)) {                                                               \
        if (in_ci()) FAIL("missing shared data file in CI: " << var.string());                         \
        WARN("SKIPPED: shared data file not found: " << var.string());                                 \
        return;                                                                                        \
    }
