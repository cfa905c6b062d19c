// Real data: the 40 records ipfixprobe exports for a 2016 SIPVicious session.
#include "catch.hpp"
#include "ipfixprobe_record.hpp"

#include <sipdetect/scan_detector.hpp>

#include <algorithm>
#include <map>

using namespace sipdetect;

namespace {

std::vector<scan_event> run(const std::vector<ipfixprobe_record>& records, std::uint32_t threshold) {
    scan_config c;
    c.threshold = threshold;
    scan_detector<ipfixprobe_record> d(c);
    std::vector<scan_event> events;
    for (const auto& r : records) {
        d.feed(r);
        for (auto& e : d.poll()) events.push_back(std::move(e));
    }
    for (auto& e : d.flush()) events.push_back(std::move(e));
    return events;
}

std::vector<ipfixprobe_record> load_sorted(const std::filesystem::path& path) {
    auto records = read_ipfixprobe_csv(path.string());
    std::stable_sort(records.begin(), records.end(),
                     [](const auto& a, const auto& b) { return a.TIME_LAST < b.TIME_LAST; });
    return records;
}

} // namespace

TEST_CASE("ipfixprobe CSV, threshold 4: the INVITE sweep and the REGISTER probing") {
    SIPDETECT_REQUIRE_SHARED_FILE(csv, "ipfixprobe/sip.unirec.csv");
    const auto records = load_sorted(csv);
    REQUIRE(records.size() == 40);
    const auto events = run(records, 4);

    std::map<scan_submethod, std::vector<scan_event>> by;
    for (const auto& e : events) {
        CHECK(e.source == ip_address::parse("147.32.77.113"));
        by[e.submethod].push_back(e);
    }
    REQUIRE(by.size() == 2);

    const auto& invite = by[scan_submethod::invite];
    REQUIRE(invite.size() == 2);
    CHECK(invite.front().phase == scan_phase::start);
    CHECK(invite.back().phase == scan_phase::end);
    CHECK(invite.back().kind == scan_kind::horizontal);
    CHECK(invite.back().targets == 9);
    CHECK(invite.back().hosts == 3);
    CHECK(invite.back().users == 1);
    CHECK(invite.back().tool == "sipvicious");

    const auto& reg = by[scan_submethod::register_];
    REQUIRE(reg.size() == 2);
    const scan_event& end = reg.back();
    CHECK(end.phase == scan_phase::end);
    CHECK(end.kind == scan_kind::vertical);
    CHECK(end.hosts == 1);
    CHECK(end.users == 4);
    CHECK(end.targets == 4);
    // The first of the four targets counts but is not in the sample (README "Events").
    REQUIRE(end.sample.size() == 3);
    std::map<std::string, scan_target> by_user;
    for (const auto& t : end.sample) {
        CHECK(t.host == ip_address::parse("195.113.172.39"));
        by_user[t.user] = t;
    }
    REQUIRE(by_user.size() == 3);
    REQUIRE(by_user.count("6001") == 1);
    CHECK(by_user["6001"].answered_success);
    CHECK(by_user["6001"].answered_failure);
    CHECK(by_user["6001"].status == 200);
    for (const auto& [user, t] : by_user) {
        if (user == "6001") continue;
        CHECK((user == "3241636936" || user == "6000" || user == "6002"));
        CHECK(t.answered_failure);
        CHECK_FALSE(t.answered_success);
        CHECK(t.status == 401);
    }
    CHECK(end.successful_targets == 1);
    CHECK(end.failed_targets == 4);
}

TEST_CASE("ipfixprobe CSV, threshold 5: only the INVITE sweep") {
    SIPDETECT_REQUIRE_SHARED_FILE(csv, "ipfixprobe/sip.unirec.csv");
    const auto events = run(load_sorted(csv), 5);
    REQUIRE(events.size() == 2);
    for (const auto& e : events) CHECK(e.submethod == scan_submethod::invite);
    CHECK(events[0].phase == scan_phase::start);
    CHECK(events[0].targets == 5); // reported as soon as the threshold is crossed
    CHECK(events[1].phase == scan_phase::end);
    CHECK(events[1].targets == 9);
    CHECK(events[1].hosts == 3);
}

TEST_CASE("ipfixprobe CSV, threshold 10: nothing") {
    SIPDETECT_REQUIRE_SHARED_FILE(csv, "ipfixprobe/sip.unirec.csv");
    CHECK(run(load_sorted(csv), 10).empty());
}
