// Must not compile: the record has no to_uri, and the only error must say so.
#include <sipdetect/scan_detector.hpp>

struct record_without_to {
    sipdetect::record_time time;
    sipdetect::ip_address src, dst;
    std::uint16_t dst_port;
    sipdetect::sip_method method;
    std::string_view from_uri;
};

int main() {
    sipdetect::scan_detector<record_without_to> detector;
    detector.feed(record_without_to{});
    return static_cast<int>(detector.poll().size());
}
