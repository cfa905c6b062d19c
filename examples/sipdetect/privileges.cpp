// sipdetect command-line program: dropping root after the inputs are open.
#include "privileges.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>
#include <vector>

#include <grp.h>
#include <pwd.h>
#include <sys/types.h>
#include <unistd.h>

namespace sipdetect_cli {

namespace {

[[noreturn]] void fail(const std::string& user, const std::string& what) {
    throw privilege_error("--user " + user + ": " + what);
}

std::string system_error(const char* call) { return std::string(call) + ": " + std::strerror(errno); }

// Every capability set of this process that must be empty once root is left:
// permitted, effective and ambient (the bounding set only limits what could
// be gained again, and nothing can be without a permitted set).
void check_no_capabilities(const std::string& user) {
    std::ifstream status("/proc/self/status");
    if (!status) fail(user, "cannot read /proc/self/status to check the capabilities left");
    std::string line;
    int checked = 0;
    while (std::getline(status, line)) {
        for (const std::string_view set : {"CapPrm:", "CapEff:", "CapAmb:"}) {
            if (!line.starts_with(set)) continue;
            ++checked;
            if (line.find_first_not_of("0 \t", set.size()) != std::string::npos)
                fail(user, "capabilities are left after the switch: " + line);
        }
    }
    if (checked != 3) fail(user, "/proc/self/status does not list the capability sets");
}

} // namespace

void drop_privileges(const std::string& user) {
    errno = 0;
    std::vector<char> buffer(16384);
    passwd entry{};
    passwd* found = nullptr;
    if (const int rc = ::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found); rc != 0 || !found)
        fail(user, rc != 0 ? std::string("cannot look the user up: ") + std::strerror(rc) : "no such user");
    const uid_t uid = found->pw_uid;
    const gid_t gid = found->pw_gid;
    if (uid == 0) fail(user, "is root: name a user without privileges");
    if (::setgroups(0, nullptr) != 0) fail(user, system_error("setgroups"));
    if (::setresgid(gid, gid, gid) != 0) fail(user, system_error("setresgid"));
    if (::setresuid(uid, uid, uid) != 0) fail(user, system_error("setresuid"));

    uid_t ruid = 0, euid = 0, suid = 0;
    gid_t rgid = 0, egid = 0, sgid = 0;
    if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0 || ruid != uid ||
        euid != uid || suid != uid || rgid != gid || egid != gid || sgid != gid)
        fail(user, "the user and group ids did not all change");
    if (::getgroups(0, nullptr) != 0) fail(user, "supplementary groups are left");
    if (::setuid(0) == 0) fail(user, "root could be regained");
    check_no_capabilities(user);
}

std::optional<std::string> root_refusal(bool has_user, bool allow_root) {
    if (::geteuid() != 0 || has_user || allow_root) return std::nullopt;
    return "refusing to read live input as root: give --user NAME to drop root once the inputs are open "
           "(or --allow-root)";
}

} // namespace sipdetect_cli
