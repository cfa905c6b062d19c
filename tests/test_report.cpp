// The HTML report of the sipdetect program (examples/sipdetect/report.hpp):
// escaping, the page's structure, what it keeps. The browser tests in
// tests/integration/report_browser.sh open the pages in headless Chromium.
#include "catch.hpp"

#include "report.hpp"

#include <sipdetect/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>
#include <unistd.h>

using namespace sipdetect;
using sipdetect_cli::html_text;
using sipdetect_cli::render_report;
using sipdetect_cli::report_data;

namespace {

record_time at_second(std::int64_t s) { return record_time{std::chrono::seconds(s)}; }

std::size_t count(const std::string& haystack, std::string_view needle) {
    std::size_t n = 0;
    for (std::size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
}

scan_event scan(std::uint64_t id, std::string_view source, std::int64_t first, std::int64_t last,
                scan_phase phase = scan_phase::end) {
    scan_event e;
    e.phase = phase;
    e.id = id;
    e.source = ip_address::parse(source);
    e.submethod = scan_submethod::options;
    e.kind = scan_kind::horizontal;
    e.hosts = e.targets = 21;
    e.users = 1;
    e.requests = 21;
    e.first_seen = at_second(first);
    e.last_seen = at_second(last);
    for (std::uint32_t i = 2; i <= 21; ++i)
        e.sample.push_back(scan_target{ip_address::from_v4(0xc0000200u + i), 5060, "100", i % 2 == 0, false,
                                       static_cast<std::uint16_t>(i % 2 == 0 ? 200 : 0)});
    e.user_agents = {"friendly-scanner"};
    e.tool = "sipvicious";
    return e;
}

proxy_event proxy(std::uint64_t id, std::string_view source, std::int64_t verdict) {
    proxy_event p;
    p.id = id;
    p.source = ip_address::parse(source);
    p.uris = 12;
    p.uri_sample = {"sip:alice@example.org", "sip:bob@example.org"};
    p.first_seen = at_second(verdict - 30);
    p.detected_at = at_second(verdict);
    p.last_seen = at_second(verdict - 1);
    p.peers = {ip_address::parse("192.0.2.20")};
    p.min_via = 2;
    p.max_via = 3;
    p.requests = 40;
    p.successes = 30;
    p.answers_judged = true;
    return p;
}

// Everything the page holds outside its own <script> element.
std::string without_own_script(const std::string& page) {
    const auto open = page.rfind("<script>");
    const auto close = page.rfind("</script>");
    REQUIRE(open != std::string::npos);
    REQUIRE(close != std::string::npos);
    return page.substr(0, open) + page.substr(close + 9);
}

} // namespace

TEST_CASE("html_text: markup characters become entities, bytes that are not text become visible \\xNN") {
    CHECK(html_text("<script>alert(\"x\")</script>") == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    CHECK(html_text("a & b 'c'") == "a &amp; b &#39;c&#39;");
    CHECK(html_text("caf\xc3\xa9 \xe2\x82\xac") == "caf\xc3\xa9 \xe2\x82\xac"); // valid UTF-8 stays
    CHECK(html_text("bad\xff\xc3(") == "bad\\xff\\xc3(");                 // invalid sequences, byte by byte
    CHECK(html_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");                // a UTF-16 surrogate is not UTF-8
    CHECK(html_text(std::string("nul\0bell\a\x7f", 10)) == "nul\\x00bell\\x07\\x7f");
}

TEST_CASE("html_text: a long string is cut at a character, with its length in bytes") {
    const std::string ua = "<" + std::string(65536, 'A') + "\xc3\xa9";
    const std::string shown = html_text(ua, 10);
    CHECK(shown == "&lt;AAAAAAAAA\xe2\x80\xa6 (65539 bytes)");
    // A cut never splits a multi-byte character.
    CHECK(html_text("\xc3\xa9\xc3\xa9\xc3\xa9", 2) == "\xc3\xa9\xc3\xa9\xe2\x80\xa6 (6 bytes)");
    CHECK(html_text("abc", 3) == "abc");
}

TEST_CASE("report_data keeps the latest event of each scan and counts every phase") {
    report_data d;
    d.add(scan(7, "192.0.2.66", 100, 110, scan_phase::start));
    d.add(scan(7, "192.0.2.66", 100, 700, scan_phase::update));
    d.add(scan(7, "192.0.2.66", 100, 900, scan_phase::end));
    d.add(scan(8, "192.0.2.67", 200, 300, scan_phase::start));
    REQUIRE(d.scans.size() == 2);
    CHECK(d.scans.at(7).last_seen == at_second(900));
    CHECK(d.scans.at(7).phase == scan_phase::end);
    CHECK(d.scan_events_by_phase[0] == 2);
    CHECK(d.scan_events_by_phase[1] == 1);
    CHECK(d.scan_events_by_phase[2] == 1);
    const std::string page = render_report(d);
    CHECK(count(page, R"(<rect class="bar )") == 2);
    CHECK(count(page, R"(class="scan page-item")") == 2);
    CHECK(page.find("scans: 2 (1 still active)") != std::string::npos);
}

TEST_CASE("report_data lets the oldest scans go past max_kept and says how many") {
    report_data d;
    scan_event e = scan(1, "192.0.2.1", 0, 1);
    e.sample.clear();
    for (std::uint64_t id = 1; id <= report_data::max_kept + 3; ++id) {
        e.id = id;
        d.add(e);
    }
    CHECK(d.scans.size() == report_data::max_kept);
    CHECK(d.scans_let_go == 3);
    CHECK(d.scans.begin()->first == 4);
}

TEST_CASE("message_counts: requests, responses by class, impossible statuses apart") {
    report_data d;
    sipdetect_cli::input_record r;
    r.time = at_second(50);
    r.method = sip_method::register_;
    d.note_record(r);
    r.status = 401;
    r.time = at_second(10);
    d.note_record(r);
    r.method = sip_method::options;
    r.status = 200;
    d.note_record(r);
    r.status = 999;
    d.note_record(r);
    CHECK(d.records == 4);
    CHECK(d.first_record == at_second(10));
    CHECK(d.last_record == at_second(50));
    const auto& reg = d.messages.by_method[static_cast<std::size_t>(sip_method::register_)];
    CHECK(reg[0] == 1);
    CHECK(reg[4] == 1);
    const auto& opt = d.messages.by_method[static_cast<std::size_t>(sip_method::options)];
    CHECK(opt[2] == 1);
    CHECK(opt[7] == 1);
    const std::string page = render_report(d);
    CHECK(std::regex_search(page, std::regex(R"(<th scope="row">REGISTER</th><td class="n">1</td><td class="n">0</td><td class="n">0</td><td class="n">0</td><td class="n">1</td>)")));
    CHECK(page.find(R"(<th scope="row">INVITE</th>)") == std::string::npos); // methods never seen are left out
}

TEST_CASE("render_report: one bar and one row per scan, one marker per new proxy, with their sources and times") {
    report_data d;
    d.records = 10;
    d.first_record = at_second(1'600'000'000);
    d.last_record = at_second(1'600'003'600);
    d.add(scan(1, "192.0.2.66", 1'600'000'010, 1'600'000'100));
    d.add(scan(2, "2001:db8::66", 1'600'001'000, 1'600'002'000));
    d.add(proxy(1, "192.0.2.10", 1'600'003'000));
    d.learned = {known_proxy{ip_address::parse("192.0.2.10"), at_second(1'600'002'970), at_second(1'600'002'999),
                             at_second(1'600'003'000), false},
                 known_proxy{ip_address::parse("192.0.2.20"), at_second(1'600'000'000), at_second(1'600'003'500),
                             at_second(1'600'000'050), true}};
    const std::string page = render_report(d);
    CHECK(count(page, R"(<rect class="bar )") == 2);
    CHECK(page.find(R"(data-scan="1" data-source="192.0.2.66" data-submethod="options" data-kind="horizontal" data-first="2020-09-13T12:26:50.000000Z" data-last="2020-09-13T12:28:20.000000Z")") != std::string::npos);
    CHECK(page.find(R"(data-scan="2" data-source="2001:db8::66")") != std::string::npos);
    CHECK(count(page, R"(<tbody id="scan-)") == 2);
    CHECK(count(page, R"(class="marker new-proxy")") == 1);
    CHECK(page.find(R"(data-source="192.0.2.10" data-detected="2020-09-13T13:16:40.000000Z")") != std::string::npos);
    // Only the proxy learned silently gets a learned marker; both are in the baseline table.
    CHECK(count(page, R"(class="marker learned-proxy")") == 1);
    CHECK(page.find(R"(class="marker learned-proxy" data-source="192.0.2.20")") != std::string::npos);
    CHECK(count(page, R"(<tbody class="page-item" id="learned-)") == 2);
    // A bar leads to its row, and the row to its targets.
    CHECK(page.find(R"(<a href="#scan-2">)") != std::string::npos);
    CHECK(page.find(R"(<a href="#targets-2">)") != std::string::npos);
    CHECK(page.find(R"(<section class="targets page-item" id="targets-2">)") != std::string::npos);
    // Horizontal scans' targets by /24 and /64.
    CHECK(page.find(R"(<th scope="row" class="mono">192.0.2.0/24</th><td class="n">20</td><td class="n">10</td>)") != std::string::npos);
}

TEST_CASE("render_report: a vertical scan's targets are its called users at each host, with their answers") {
    report_data d;
    scan_event e = scan(3, "192.0.2.1", 0, 60);
    e.kind = scan_kind::vertical;
    e.sample = {scan_target{ip_address::parse("192.0.2.20"), 5060, "100", false, true, 404},
                scan_target{ip_address::parse("192.0.2.20"), 5060, "101", true, false, 200},
                scan_target{ip_address::parse("192.0.2.20"), 5060, "102", false, false, 0}};
    d.add(e);
    const std::string page = render_report(d);
    CHECK(page.find(R"(<th scope="row" class="mono">192.0.2.20:5060</th><td class="n">3</td><td class="n">1</td>)") != std::string::npos);
    CHECK(page.find(R"(<td class="chips"><span class="err">100 404</span><span class="ok">101 200</span><span class="none">102 no answer</span>)") != std::string::npos);
    CHECK(page.find("host-groups") == std::string::npos); // not by network: it is vertical
}

TEST_CASE("render_report: strings from the network are text, never markup") {
    report_data d;
    scan_event e = scan(1, "192.0.2.66", 0, 10);
    e.user_agents = {"<script>console.error('ua')</script>", "\xff\xfe<b>", std::string(65536, 'U')};
    e.tool = "<img src=x onerror=alert(1)>";
    e.sample[0].user = "\"><svg onload=alert(2)>";
    d.add(e);
    proxy_event p = proxy(1, "192.0.2.10", 100);
    p.uri_sample = {"sip:<script>@x", "sip:a'b\"@y"};
    p.user_agents = {"</td></tr></table><script>x()</script>"};
    d.add(p);
    d.inputs = {"<evil>.pcap"};
    const std::string page = render_report(d);
    const std::string outside = without_own_script(page);
    CHECK(outside.find("<script") == std::string::npos);
    CHECK(outside.find("<img") == std::string::npos);
    CHECK(outside.find("<svg onload") == std::string::npos);
    CHECK(outside.find("<b>") == std::string::npos);
    CHECK(outside.find("<evil>") == std::string::npos);
    CHECK(page.find("&lt;script&gt;console.error(&#39;ua&#39;)&lt;/script&gt;") != std::string::npos);
    CHECK(page.find("\\xff\\xfe&lt;b&gt;") != std::string::npos);
    CHECK(page.find("&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
    CHECK(page.find(std::string(65536, 'U')) == std::string::npos);
    CHECK(page.find("\xe2\x80\xa6 (65536 bytes)") != std::string::npos);
    CHECK(count(page, "<script>") == 1);
}

TEST_CASE("render_report: the page fetches nothing") {
    report_data d;
    d.add(scan(1, "192.0.2.66", 0, 10));
    d.add(proxy(1, "192.0.2.10", 100));
    const std::string page = render_report(d);
    // The SVG namespace is a name, not a fetch; nothing else may name a URL or load a resource.
    std::string rest = page;
    for (std::size_t at; (at = rest.find("xmlns=\"http://www.w3.org/2000/svg\"")) != std::string::npos;) rest.erase(at, 34);
    for (const char* reference : {"http:", "https:", "//", "src=", "@import", "<link", "<iframe", "<object"})
        CHECK(rest.find(reference) == std::string::npos);
    CHECK(page.find("default-src 'none'") != std::string::npos);
}

TEST_CASE("render_report: time ticks read well from seconds to weeks") {
    const auto ticks = [](std::int64_t span_seconds) {
        report_data d;
        d.add(scan(1, "192.0.2.66", 1'600'000'000, 1'600'000'000 + span_seconds));
        const std::string page = render_report(d);
        std::vector<std::string> labels;
        const std::regex tick(R"re(class="tick"[^>]*>([^<]*)<)re");
        for (auto it = std::sregex_iterator(page.begin(), page.end(), tick); it != std::sregex_iterator(); ++it)
            labels.push_back((*it)[1]);
        return labels;
    };
    const auto seconds = ticks(4);
    REQUIRE(seconds.size() >= 3);
    CHECK(std::regex_match(seconds[0], std::regex(R"(\d\d:\d\d:\d\d(\.\d{3})?)")));
    const auto hours = ticks(5 * 3600);
    REQUIRE(hours.size() >= 3);
    CHECK(std::regex_match(hours[0], std::regex(R"(\d\d:\d\d)")));
    const auto weeks = ticks(21 * 86400);
    REQUIRE(weeks.size() >= 3);
    CHECK(weeks.size() <= 9);
    CHECK(std::regex_match(weeks[0], std::regex(R"(\d{4}-\d\d-\d\d)")));
}

TEST_CASE("render_report: beyond 200 sources the rest of the timeline is one density lane") {
    report_data d;
    for (std::uint32_t i = 0; i < 1000; ++i) {
        scan_event e = scan(i + 1, "192.0.2.1", 1000 + i, 2000 + i);
        e.source = ip_address::from_v4(0x0a000000u + i);
        e.requests = 1000 - i; // the first 200 sources are the busiest
        d.add(e);
    }
    const std::string page = render_report(d);
    CHECK(count(page, R"(<rect class="bar )") == 200);
    CHECK(page.find(R"(data-source="10.0.0.199")") != std::string::npos);
    CHECK(page.find(R"(<rect class="bar sm-options" data-scan="201")") == std::string::npos);
    CHECK(count(page, R"(<rect class="density")") > 0);
    CHECK(page.find(">800 more sources<") != std::string::npos);
    CHECK(count(page, R"(<tbody id="scan-)") == 1000); // the table keeps every scan (it pages)
}

TEST_CASE("render_report: the ClosedSeason is shaded from the first record to its end") {
    report_data d;
    d.proxy.closed_season = std::chrono::hours(24);
    d.season_end = at_second(1'600'086'400);
    d.records = 2;
    d.first_record = at_second(1'600'000'000);
    d.last_record = at_second(1'600'200'000);
    const std::string page = render_report(d);
    CHECK(page.find(R"(class="season")") != std::string::npos);
    CHECK(page.find(R"(data-from="2020-09-13T12:26:40.000000Z" data-to="2020-09-14T12:26:40.000000Z")") != std::string::npos);
    d.proxy.closed_season = {};
    CHECK(render_report(d).find(R"(class="season")") == std::string::npos);
}

TEST_CASE("html_report::write replaces the file whole, and names it when it cannot") {
    const auto dir = std::filesystem::temp_directory_path() / ("sipdetect_report_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto path = dir / "r.html";
    sipdetect_cli::options opt;
    opt.inputs = {"a.pcap"};
    sipdetect_cli::html_report report(path.string(), opt);
    report.add(std::vector<scan_event>{scan(1, "192.0.2.66", 0, 10)});
    report.write();
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str() == render_report(report.data()));
    CHECK_FALSE(std::filesystem::exists(dir / "r.html.tmp"));

    sipdetect_cli::html_report nowhere((dir / "missing" / "r.html").string(), opt);
    CHECK_THROWS_AS(nowhere.write(), sipdetect_cli::report_error);
    try {
        nowhere.write();
    } catch (const sipdetect_cli::report_error& e) {
        CHECK(std::string(e.what()).find("missing") != std::string::npos);
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("render_report: a campaign is one lane's bar and one row, with its members and what they share") {
    report_data d;
    campaign_event c;
    c.phase = scan_phase::start;
    c.id = 4;
    c.submethod = scan_submethod::register_;
    c.kind = scan_kind::vertical;
    c.sources = 12;
    c.source_sample = {ip_address::parse("192.0.2.1"), ip_address::parse("192.0.2.2")};
    c.hosts = 1;
    c.users = c.targets = 40;
    c.requests = 44;
    c.first_seen = at_second(1'600'000'000);
    c.last_seen = at_second(1'600'000'300);
    c.fingerprint = "register; User-Agent \"<b>x</b>\"";
    d.add(c);
    c.phase = scan_phase::end;
    c.last_seen = at_second(1'600'000'900);
    d.add(c);
    const std::string page = render_report(d);
    CHECK(count(page, R"(<rect class="campaign-bar )") == 1);
    CHECK(page.find(R"(data-campaign="4" data-submethod="register" data-kind="vertical" data-first="2020-09-13T12:26:40.000000Z" data-last="2020-09-13T12:41:40.000000Z")") != std::string::npos);
    CHECK(count(page, R"(<tbody id="campaign-4" class="campaign page-item")") == 1);
    CHECK(page.find("<span>192.0.2.1</span><span>192.0.2.2</span>") != std::string::npos);
    CHECK(page.find("register; User-Agent &quot;&lt;b&gt;x&lt;/b&gt;&quot;") != std::string::npos);
    CHECK(page.find("1 start, 0 update, 1 end</td><td>campaigns: 1 (0 still active)") != std::string::npos);
    CHECK(count(page, R"(<rect class="bar )") == 0); // a campaign is no scan

    d.campaigns_on = false;
    const std::string off = render_report(d);
    CHECK(off.find(R"(id="campaigns")") == std::string::npos);
    CHECK(off.find("off (--no-campaigns)") != std::string::npos);
}

namespace {

// CIELAB (D65) of an sRGB colour seen through a colour-vision deficiency:
// Machado, Oliveira and Fernandes (2009) at full severity, applied in linear RGB.
using rgb_matrix = std::array<std::array<double, 3>, 3>;
std::array<double, 3> lab_seen(const std::string& hex, const rgb_matrix& deficiency) {
    std::array<double, 3> linear{};
    for (std::size_t i = 0; i < 3; ++i) {
        const double c = std::stoi(hex.substr(2 * i, 2), nullptr, 16) / 255.0;
        linear[i] = c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
    }
    std::array<double, 3> seen{};
    for (std::size_t r = 0; r < 3; ++r) {
        for (std::size_t c = 0; c < 3; ++c) seen[r] += deficiency[r][c] * linear[c];
        seen[r] = std::clamp(seen[r], 0.0, 1.0);
    }
    const double x = (0.4124 * seen[0] + 0.3576 * seen[1] + 0.1805 * seen[2]) / 0.95047;
    const double y = 0.2126 * seen[0] + 0.7152 * seen[1] + 0.0722 * seen[2];
    const double z = (0.0193 * seen[0] + 0.1192 * seen[1] + 0.9505 * seen[2]) / 1.08883;
    const auto f = [](double t) { return t > 0.008856 ? std::cbrt(t) : 7.787 * t + 16.0 / 116.0; };
    return {116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))};
}

} // namespace

TEST_CASE("render_report: the timeline's colours stay apart under simulated colour-blindness") {
    report_data d;
    d.add(scan(1, "192.0.2.66", 0, 10));
    const std::string page = render_report(d);
    // The colours of the submethods, campaigns and proxies, as the page's CSS declares them.
    std::vector<std::string> colours;
    for (const char* name : {"--register:#", "--options:#", "--invite:#", "--proxy:#", "--learned:#", "--campaign:#"}) {
        const std::size_t at = page.find(name);
        REQUIRE(at != std::string::npos);
        colours.push_back(page.substr(at + std::strlen(name), 6));
    }
    const std::array<std::pair<const char*, rgb_matrix>, 4> vision{{
        {"normal", {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}}},
        {"protanopia", {{{0.152286, 1.052583, -0.204868}, {0.114503, 0.786281, 0.099216}, {-0.003882, -0.048116, 1.051998}}}},
        {"deuteranopia", {{{0.367322, 0.860646, -0.227968}, {0.280085, 0.672501, 0.047413}, {-0.011820, 0.042940, 0.968881}}}},
        {"tritanopia", {{{1.255528, -0.076749, -0.178779}, {-0.078411, 0.930809, 0.147602}, {0.004733, 0.691367, 0.303900}}}},
    }};
    for (const auto& [who, deficiency] : vision) {
        INFO(who);
        for (std::size_t a = 0; a < colours.size(); ++a)
            for (std::size_t b = a + 1; b < colours.size(); ++b) {
                INFO(colours[a] << " against " << colours[b]);
                const auto la = lab_seen(colours[a], deficiency), lb = lab_seen(colours[b], deficiency);
                const double delta = std::hypot(la[0] - lb[0], la[1] - lb[1], la[2] - lb[2]);
                CHECK(delta >= 15.0); // CIE76: about 2.3 is just noticeable; 15 is plainly another colour
            }
    }
}
