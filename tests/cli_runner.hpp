// Running the sipdetect program from the tests: its command line, its
// events as JSON, its stderr, and scratch files.
#pragma once

#include "catch.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

// Every non-empty line of `text` parsed as JSON, a malformed one throwing;
// objects_only: only the lines that start an object (with --json, the
// --learned-proxies baseline among stderr's notices).
inline std::vector<nlohmann::json> json_lines(const std::string& text, bool objects_only = false) {
    std::vector<nlohmann::json> out;
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t nl = text.find('\n', at);
        const std::string line = text.substr(at, nl - at);
        at = nl == std::string::npos ? text.size() : nl + 1;
        if (!line.empty() && (!objects_only || line.front() == '{')) out.push_back(nlohmann::json::parse(line));
    }
    return out;
}

struct run_result {
    int exit_code = -1;
    std::vector<nlohmann::json> events;
};

inline std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Runs a shell command with `redirection`; returns its exit status and what it wrote to the pipe.
inline std::pair<int, std::string> run_command(const std::string& command, const std::string& redirection) {
    const std::string line = command + " " + redirection;
    std::FILE* pipe = ::popen(line.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    char buf[65536];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Runs the program with `args` and `redirection`.
inline std::pair<int, std::string> run_program(const std::string& args, const std::string& redirection) {
    return run_command(quoted(SIPDETECT_CLI) + " --no-progress " + args, redirection);
}

inline run_result run_cli(const std::string& args) {
    const auto [status, out] = run_program("--json " + args, "2>/dev/null");
    return run_result{status, json_lines(out)};
}

// What the program writes to stderr, its events discarded.
inline std::string cli_stderr(const std::string& args) {
    const auto [status, err] = run_program(args, "2>&1 >/dev/null");
    REQUIRE(status == 0);
    return err;
}

// A scratch file of this process, removed when the object goes.
class scratch_file {
public:
    explicit scratch_file(const std::string& name)
        : path_(std::filesystem::temp_directory_path() / ("sipdetect_e2e_" + std::to_string(::getpid()) + "_" + name)) {}
    ~scratch_file() {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
    scratch_file(const scratch_file&) = delete;
    scratch_file& operator=(const scratch_file&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string arg() const { return quoted(path_.string()); }

private:
    std::filesystem::path path_;
};
