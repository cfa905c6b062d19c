#include "catch.hpp"

#include <sipdetect/address.hpp>

using sipdetect::ip_address;
using sipdetect::ip_prefix;
using sipdetect::parse_error;
using sipdetect::prefix_set;

TEST_CASE("IPv4 parses and prints canonically") {
    CHECK(ip_address::parse("192.0.2.1").to_string() == "192.0.2.1");
    CHECK(ip_address::parse("0.0.0.0").to_string() == "0.0.0.0");
    CHECK(ip_address::parse("255.255.255.255").v4() == 0xffffffffu);
    CHECK(ip_address::parse("10.1.2.3").is_v4());
}

TEST_CASE("malformed IPv4 is refused") {
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "1.2.3.4 ", "a.b.c.d", "1.2.3.-4"})
        CHECK_FALSE(ip_address::try_parse(bad).has_value());
    CHECK_THROWS_AS(ip_address::parse("300.1.1.1"), parse_error);
}

TEST_CASE("IPv6 prints as RFC 5952") {
    CHECK(ip_address::parse("2001:0db8:0000:0000:0000:0000:0000:0001").to_string() == "2001:db8::1");
    CHECK(ip_address::parse("2001:db8:0:0:1:0:0:1").to_string() == "2001:db8::1:0:0:1");
    CHECK(ip_address::parse("2001:db8:0:1:1:1:1:1").to_string() == "2001:db8:0:1:1:1:1:1");
    CHECK(ip_address::parse("::").to_string() == "::");
    CHECK(ip_address::parse("::1").to_string() == "::1");
    CHECK(ip_address::parse("FE80::A").to_string() == "fe80::a");
    CHECK(ip_address::parse("1::").to_string() == "1::");
    CHECK(ip_address::parse("1:0:0:2:0:0:0:3").to_string() == "1:0:0:2::3");
}

TEST_CASE("v4-mapped IPv6 is the same party as IPv4") {
    const auto mapped = ip_address::parse("::ffff:192.0.2.7");
    CHECK(mapped == ip_address::parse("192.0.2.7"));
    CHECK(mapped.to_string() == "192.0.2.7");
    CHECK(ip_address::parse("::ffff:c000:207") == mapped);
    CHECK_FALSE(ip_address::parse("::192.0.2.7").is_v4());
}

TEST_CASE("malformed IPv6 is refused") {
    for (const char* bad : {":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::1", "1:2:3:4:5:6:7", "::1%eth0",
                            "1:", "[::1]", "1:2:3:4:5:6:7:1.2.3.4"})
        CHECK_FALSE(ip_address::try_parse(bad).has_value());
}

TEST_CASE("prefixes of both families") {
    const auto set = prefix_set::parse("10.0.0.0/8, 192.168.1.0/24 2001:db8::/32\t127.0.0.1");
    REQUIRE(set.prefixes().size() == 4);
    CHECK(set.contains(ip_address::parse("10.200.0.1")));
    CHECK(set.contains(ip_address::parse("192.168.1.77")));
    CHECK_FALSE(set.contains(ip_address::parse("192.168.2.1")));
    CHECK(set.contains(ip_address::parse("2001:db8:ffff::1")));
    CHECK_FALSE(set.contains(ip_address::parse("2001:db9::1")));
    CHECK(set.contains(ip_address::parse("127.0.0.1")));
    CHECK_FALSE(set.contains(ip_address::parse("127.0.0.2")));
    CHECK(set.contains(ip_address::parse("::ffff:10.0.0.1")));
    CHECK(set.to_string() == "10.0.0.0/8,192.168.1.0/24,2001:db8::/32,127.0.0.1/32");
}

TEST_CASE("an IPv4 /0 does not swallow IPv6") {
    const auto set = prefix_set::parse("0.0.0.0/0");
    CHECK(set.contains(ip_address::parse("8.8.8.8")));
    CHECK_FALSE(set.contains(ip_address::parse("2001:db8::1")));
    CHECK(prefix_set::parse("::/0").contains(ip_address::parse("8.8.8.8")));
}

TEST_CASE("bad CIDR text gives an error naming the item") {
    auto message_of = [](const char* text) {
        try {
            (void)prefix_set::parse(text);
        } catch (const parse_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(message_of("10.0.0.0/33") == "invalid CIDR \"10.0.0.0/33\": prefix length 33 exceeds 32");
    CHECK(message_of("10.0.0.1/8") == "invalid CIDR \"10.0.0.1/8\": host bits set in 10.0.0.1/8");
    CHECK(message_of("10.0.0.0/8,bogus") == "invalid CIDR \"bogus\": bad address");
    CHECK(message_of("2001:db8::/129") == "invalid CIDR \"2001:db8::/129\": prefix length 129 exceeds 128");
    CHECK(message_of("10.0.0.0/") == "invalid CIDR \"10.0.0.0/\": bad prefix length");
    CHECK(message_of("10.0.0.0/8x") == "invalid CIDR \"10.0.0.0/8x\": bad prefix length");
    CHECK(message_of("") == "no error");
}
