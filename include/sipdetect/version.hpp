// sipdetect: version macros and the versioned inline namespace.
#pragma once

#define SIPDETECT_VERSION_MAJOR 0
#define SIPDETECT_VERSION_MINOR 1
#define SIPDETECT_VERSION_PATCH 0
#define SIPDETECT_VERSION_STRING "0.1.0"

// Everything lives in an inline namespace named after the version, so two
// plugins that embed different sipdetect versions in one process link
// distinct symbols instead of silently violating the one-definition rule.
#define SIPDETECT_NAMESPACE_BEGIN \
    namespace sipdetect {         \
    inline namespace v0_1 {
#define SIPDETECT_NAMESPACE_END \
    }                           \
    }
