// sipdetect: the exceptions the library throws, all outside the hot path.
#pragma once

#include <sipdetect/version.hpp>

#include <stdexcept>
#include <string>
#include <vector>

SIPDETECT_NAMESPACE_BEGIN

// Text that does not parse: an address, a CIDR list.
class parse_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// A configuration that cannot work, named by its field.
class config_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// A saved state that cannot be loaded; the detector is left as it was.
class state_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What load() noticed besides errors. The running configuration always
// wins; each parameter the file was saved with that differs is named here.
struct load_report {
    std::vector<std::string> config_differences;
};

SIPDETECT_NAMESPACE_END
