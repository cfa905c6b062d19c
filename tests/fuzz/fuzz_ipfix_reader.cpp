// Fuzz target: sipdetect_cli::open_ipfix_reader() reads the input as a whole file.
#include "reader_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return fuzz::read_whole_file("ipfix", data, size, [](const std::filesystem::path& p) {
        return sipdetect_cli::open_ipfix_reader(p);
    });
}
