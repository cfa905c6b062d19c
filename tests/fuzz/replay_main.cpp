// A main() for building a fuzz target without libFuzzer: runs
// LLVMFuzzerTestOneInput once over every file given, and over every regular
// file inside every directory given (sorted, not recursive). A missing
// directory counts as empty, so a target without committed regressions
// needs no special case. Any failure aborts, as under the fuzzer.
//
// Like libFuzzer's -timeout and -rss_limit_mb, an input that runs longer
// than SIPDETECT_FUZZ_REPLAY_TIMEOUT seconds (default 60) aborts, and memory
// is capped (2 GiB of RSS under ASan, 4 GiB of address space otherwise), so
// a regression that loops or allocates without end fails instead of hanging
// the test run or exhausting the machine.
#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SIPDETECT_REPLAY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIPDETECT_REPLAY_ASAN 1
#endif
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

#if defined(SIPDETECT_REPLAY_ASAN)
// Read by ASan at start-up; ASAN_OPTIONS from the environment still override it.
extern "C" const char* __asan_default_options();
extern "C" const char* __asan_default_options() { return "hard_rss_limit_mb=2048:allocator_may_return_null=0"; }
#endif

namespace {

char current_input[4096] = "(none)";

void on_timeout(int) {
    static const char head[] = "\nreplay: timeout while running ";
    ssize_t ignored = ::write(STDERR_FILENO, head, sizeof head - 1);
    ignored = ::write(STDERR_FILENO, current_input, std::strlen(current_input));
    ignored = ::write(STDERR_FILENO, "\n", 1);
    (void)ignored;
    std::abort();
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot open %s\n", p.c_str());
        std::exit(2);
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void run(const std::filesystem::path& p, unsigned timeout) {
    std::fprintf(stderr, "replay: %s\n", p.c_str());
    std::snprintf(current_input, sizeof current_input, "%s", p.c_str());
    const std::vector<std::uint8_t> bytes = read_file(p);
    // An empty input still gets a valid (non-null) pointer, as libFuzzer gives.
    static const std::uint8_t empty = 0;
    ::alarm(timeout);
    LLVMFuzzerTestOneInput(bytes.empty() ? &empty : bytes.data(), bytes.size());
    ::alarm(0);
}

} // namespace

int main(int argc, char** argv) {
    unsigned timeout = 60;
    if (const char* t = std::getenv("SIPDETECT_FUZZ_REPLAY_TIMEOUT")) timeout = static_cast<unsigned>(std::atoi(t));
    std::signal(SIGALRM, on_timeout);
#if !defined(SIPDETECT_REPLAY_ASAN)
    // 4 GiB; where rlim_t has 32 bits (i386) that is the whole address space, and
    // rlim_t{4} << 30 would wrap to a limit of 0 bytes: no limit there.
    constexpr std::uint64_t cap = std::uint64_t{4} << 30;
    rlim_t address_space = RLIM_INFINITY;
    if constexpr (cap <= std::numeric_limits<rlim_t>::max()) address_space = static_cast<rlim_t>(cap);
    const rlimit limit{address_space, address_space};
    ::setrlimit(RLIMIT_AS, &limit);
#endif

    std::size_t count = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg = argv[i];
        std::error_code ec;
        if (std::filesystem::is_directory(arg, ec)) {
            std::vector<std::filesystem::path> files;
            for (const auto& entry : std::filesystem::directory_iterator(arg))
                if (entry.is_regular_file()) files.push_back(entry.path());
            std::sort(files.begin(), files.end());
            for (const auto& f : files) run(f, timeout);
            count += files.size();
        } else if (std::filesystem::is_regular_file(arg, ec)) {
            run(arg, timeout);
            ++count;
        } else {
            std::fprintf(stderr, "replay: %s does not exist, nothing to replay there\n", arg.c_str());
        }
    }
    std::printf("replay: %zu inputs, no failure\n", count);
    return 0;
}
