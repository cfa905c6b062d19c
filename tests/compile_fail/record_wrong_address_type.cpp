// Must not compile: an address given as text, which the model cannot read.
#include <sipdetect/scan_detector.hpp>

#include <string>

struct record_with_text_addresses {
    sipdetect::record_time time;
    std::string src;
    sipdetect::ip_address dst;
    std::uint16_t dst_port;
    sipdetect::sip_method method;
    std::string_view from_uri, to_uri;
};

int main() {
    sipdetect::scan_detector<record_with_text_addresses> detector;
    detector.feed(record_with_text_addresses{});
    return static_cast<int>(detector.poll().size());
}
