// sipdetect command-line program: dropping root after the inputs are open.
#include "privileges.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>
#include <vector>

#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <pwd.h>
#include <sys/types.h>
#include <unistd.h>

namespace sipdetect_cli {

namespace {

[[noreturn]] void fail(const std::string& who, const std::string& what) { throw privilege_error(who + ": " + what); }

std::string system_error(const char* call) { return std::string(call) + ": " + std::strerror(errno); }

// Every capability set of this process that must be empty once root is left:
// permitted, effective and ambient (the bounding set only limits what could
// be gained again, and nothing can be without a permitted set).
void check_no_capabilities(const std::string& who) {
    std::ifstream status("/proc/self/status");
    if (!status) fail(who, "cannot read /proc/self/status to check the capabilities left");
    std::string line;
    int checked = 0;
    while (std::getline(status, line)) {
        for (const std::string_view set : {"CapPrm:", "CapEff:", "CapAmb:"}) {
            if (!line.starts_with(set)) continue;
            ++checked;
            if (line.find_first_not_of("0 \t", set.size()) != std::string::npos)
                fail(who, "capabilities are left: " + line);
        }
    }
    if (checked != 3) fail(who, "/proc/self/status does not list the capability sets");
}

} // namespace

void drop_privileges(const std::string& name) {
    const std::string who = "--user " + name;
    errno = 0;
    std::vector<char> buffer(16384);
    passwd entry{};
    passwd* found = nullptr;
    if (const int rc = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found); rc != 0 || !found)
        fail(who, rc != 0 ? std::string("cannot look the user up: ") + std::strerror(rc) : "no such user");
    const uid_t uid = found->pw_uid;
    const gid_t gid = found->pw_gid;
    if (uid == 0) fail(who, "is root: name a user without privileges");
    if (::setgroups(0, nullptr) != 0) fail(who, system_error("setgroups"));
    if (::setresgid(gid, gid, gid) != 0) fail(who, system_error("setresgid"));
    if (::setresuid(uid, uid, uid) != 0) fail(who, system_error("setresuid"));

    uid_t ruid = 0, euid = 0, suid = 0;
    gid_t rgid = 0, egid = 0, sgid = 0;
    if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0 || ruid != uid ||
        euid != uid || suid != uid || rgid != gid || egid != gid || sgid != gid)
        fail(who, "the user and group ids did not all change");
    if (::getgroups(0, nullptr) != 0) fail(who, "supplementary groups are left");
    if (::setuid(0) == 0) fail(who, "root could be regained");
    check_no_capabilities(who);
}

void drop_capabilities() {
    const std::string who = "dropping capabilities";
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) fail(who, system_error("prctl"));
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3> none{};
    if (::syscall(SYS_capset, &header, none.data()) != 0) fail(who, system_error("capset"));
    check_no_capabilities(who);
}

std::optional<std::string> root_refusal(bool has_user, bool allow_root) {
    if (::geteuid() != 0 || has_user || allow_root) return std::nullopt;
    return "refusing to read live input as root: give --user NAME to drop root once the inputs are open "
           "(or --allow-root)";
}

} // namespace sipdetect_cli
