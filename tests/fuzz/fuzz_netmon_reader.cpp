// Fuzz target: sipdetect_cli::open_netmon_reader() reads the input as a whole file.
#include "reader_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return fuzz::read_whole_file("netmon", data, size, [](const std::filesystem::path& p) {
        return sipdetect_cli::open_netmon_reader(p);
    });
}
