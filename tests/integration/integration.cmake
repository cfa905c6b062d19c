# Integration suites: the program and the plugin against real third-party
# tools (CESNET's ipfixcol2, ipfixsend2, ipfixprobe), live traffic in network
# namespaces, and a headless browser. They need root and a few minutes, so
# they are off unless SIPDETECT_INTEGRATION_TESTS is ON (tests/run-all.sh
# --full turns it on); every such test carries the label "integration".
option(SIPDETECT_INTEGRATION_TESTS "Add the integration suites (third-party tools, network namespaces, browser)" OFF)
set(SIPDETECT_FLOW_TOOLS_PREFIX "${CMAKE_BINARY_DIR}/flow-tools" CACHE PATH
    "Where the flow tools from ../shared/third_party are built (and kept between runs)")

if(SIPDETECT_INTEGRATION_TESTS)
    # One fixture builds the flow tools; every test using them requires it.
    add_test(NAME "integration: flow tools built from ../shared/third_party"
        COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/build-flow-tools.sh ${SIPDETECT_FLOW_TOOLS_PREFIX})
    set_tests_properties("integration: flow tools built from ../shared/third_party" PROPERTIES
        FIXTURES_SETUP flow_tools LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 1200)
endif()

# The HTML report (sipdetect --report) in headless Chromium, with no network:
# each lab capture's page (ours with campaigns too), hostile strings, 10,000 scans.
if(SIPDETECT_INTEGRATION_TESTS AND TARGET sipdetect_cli)
    find_package(Python3 REQUIRED COMPONENTS Interpreter)
    set(report_browser ${CMAKE_CURRENT_LIST_DIR}/report_browser.py)
    set(report_work ${CMAKE_BINARY_DIR}/report-browser)
    foreach(capture IN ITEMS live-sipvicious-scan live-svmap-horizontal live-proxy-kamailio live-register-flood)
        add_test(NAME "integration: report of lab/${capture}.pcap in headless Chromium"
            COMMAND ${Python3_EXECUTABLE} ${report_browser} capture $<TARGET_FILE:sipdetect_cli> ${report_work}
                    ${PROJECT_SOURCE_DIR}/../shared/data/lab/${capture}.pcap --closed-season 0)
    endforeach()
    add_test(NAME "integration: report of the demo capture in headless Chromium"
        COMMAND ${Python3_EXECUTABLE} ${report_browser} capture $<TARGET_FILE:sipdetect_cli> ${report_work}
                ${PROJECT_SOURCE_DIR}/examples/data/demo.pcap --closed-season 0)
    foreach(capture IN ITEMS campaign-horizontal campaign-vertical)
        add_test(NAME "integration: report of tests/data/lab/${capture}.pcap (campaigns) in headless Chromium"
            COMMAND ${Python3_EXECUTABLE} ${report_browser} capture $<TARGET_FILE:sipdetect_cli> ${report_work}
                    ${PROJECT_SOURCE_DIR}/tests/data/lab/${capture}.pcap)
    endforeach()
    add_test(NAME "integration: report's scan table sorts by a clicked column (DevTools on a pipe)"
        COMMAND ${Python3_EXECUTABLE} ${report_browser} sort $<TARGET_FILE:sipdetect_cli> ${report_work}/sort
                ${PROJECT_SOURCE_DIR}/../shared/data/lab/live-sipvicious-scan.pcap)
    add_test(NAME "integration: report shows hostile strings as text and runs none of them"
        COMMAND ${Python3_EXECUTABLE} ${report_browser} hostile $<TARGET_FILE:sipdetect_cli> ${report_work}/hostile)
    add_test(NAME "integration: report of 10,000 scans loads in time and within its size bound"
        COMMAND ${Python3_EXECUTABLE} ${report_browser} large $<TARGET_FILE:sipdetect_cli> ${report_work}/large)
    get_property(report_tests DIRECTORY PROPERTY TESTS)
    list(FILTER report_tests INCLUDE REGEX "^integration: report ")
    set_tests_properties(${report_tests} PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 600
        RUN_SERIAL TRUE)
endif()
