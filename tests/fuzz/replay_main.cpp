// A main() for building a fuzz target without libFuzzer: runs
// LLVMFuzzerTestOneInput once over every file given, and over every regular
// file inside every directory given (sorted, not recursive). A missing
// directory counts as empty, so a target without committed regressions
// needs no special case. Any failure aborts, as under the fuzzer.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::uint8_t> read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot open %s\n", p.c_str());
        std::exit(2);
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void run(const std::filesystem::path& p) {
    std::fprintf(stderr, "replay: %s\n", p.c_str());
    const std::vector<std::uint8_t> bytes = read_file(p);
    // An empty input still gets a valid (non-null) pointer, as libFuzzer gives.
    static const std::uint8_t empty = 0;
    LLVMFuzzerTestOneInput(bytes.empty() ? &empty : bytes.data(), bytes.size());
}

} // namespace

int main(int argc, char** argv) {
    std::size_t count = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg = argv[i];
        std::error_code ec;
        if (std::filesystem::is_directory(arg, ec)) {
            std::vector<std::filesystem::path> files;
            for (const auto& entry : std::filesystem::directory_iterator(arg))
                if (entry.is_regular_file()) files.push_back(entry.path());
            std::sort(files.begin(), files.end());
            for (const auto& f : files) run(f);
            count += files.size();
        } else if (std::filesystem::is_regular_file(arg, ec)) {
            run(arg);
            ++count;
        } else {
            std::fprintf(stderr, "replay: %s does not exist, nothing to replay there\n", arg.c_str());
        }
    }
    std::printf("replay: %zu inputs, no failure\n", count);
    return 0;
}
