// Must not compile: a specialisation that inherits the default traits and
// renames `time`, but hands over a system_clock time point (nanoseconds on
// Linux), which does not convert to the microsecond record_time implicitly.
#include <sipdetect/scan_detector.hpp>

#include <chrono>

struct collector_flow {
    std::chrono::system_clock::time_point seen;
    sipdetect::ip_address src, dst;
    std::uint16_t dst_port;
    sipdetect::sip_method method;
    std::string_view from_uri, to_uri;
};

template <>
struct sipdetect::record_traits<collector_flow> : sipdetect::default_record_traits<collector_flow> {
    static std::chrono::system_clock::time_point time(const collector_flow& f) { return f.seen; }
};

int main() {
    sipdetect::scan_detector<collector_flow> detector;
    detector.feed(collector_flow{});
    return static_cast<int>(detector.poll().size());
}
