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

    # sipdetect --ipfix-listen fed by ipfixsend2 and the real ipfixprobe (ipfix_listen.sh).
    if(TARGET sipdetect_cli)
        foreach(transport tcp udp)
            set(name "integration: sipdetect --ipfix-listen ${transport} fed by ipfixsend2 and ipfixprobe gives the files' events")
            add_test(NAME "${name}" COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/ipfix_listen.sh
                $<TARGET_FILE:sipdetect_cli> ${SIPDETECT_FLOW_TOOLS_PREFIX} ${transport})
            set_tests_properties("${name}" PROPERTIES
                FIXTURES_REQUIRED flow_tools LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 900)
        endforeach()
    endif()
endif()

# The sensor: live capture of real SIP software in a network namespace, and the systemd units.
if(SIPDETECT_INTEGRATION_TESTS AND TARGET sipdetect_cli)
    add_test(NAME "integration: live capture of kamailio, SIPp and sipvicious in a network namespace"
        COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/live_capture.sh $<TARGET_FILE:sipdetect_cli>
                ${CMAKE_CURRENT_BINARY_DIR}/live_capture)
    set_tests_properties("integration: live capture of kamailio, SIPp and sipvicious in a network namespace"
        PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 300 RUN_SERIAL TRUE)
    add_test(NAME "integration: systemd units pass systemd-analyze verify and security"
        COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/systemd_units.sh $<TARGET_FILE:sipdetect_cli>
                ${CMAKE_CURRENT_BINARY_DIR}/systemd_units)
    set_tests_properties("integration: systemd units pass systemd-analyze verify and security"
        PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 60)
endif()

# The ipfixcol2 output plugin with the real collector, exporter and sender
# (tests/integration/ipfixcol2/plugin_suite.sh). A sanitized plugin runs in
# an unsanitized ipfixcol2 with the ASan runtime preloaded; leak detection is
# off, since it would report the collector's own allocations at exit.
if(SIPDETECT_INTEGRATION_TESTS AND TARGET sipdetect_ipfixcol2_output AND TARGET sipdetect_cli)
    set(plugin_environment "")
    if(SIPDETECT_SANITIZE MATCHES "address")
        execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libasan.so
            OUTPUT_VARIABLE asan_runtime OUTPUT_STRIP_TRAILING_WHITESPACE)
        set(plugin_environment "SIPDETECT_PLUGIN_PRELOAD=${asan_runtime}"
            "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1" "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
    endif()
    foreach(case IN ITEMS
            "replay-tcp|every shared IPFIX file over TCP, three exporters at once and Flowmon's elements give sipdetect's events"
            "replay-udp|every shared IPFIX file over UDP gives sipdetect's events"
            "live|ipfixprobe exporting the lab captures live gives sipdetect's events"
            "restart|a file in two halves with a SIGINT between gives one run's events"
            "hostile|mutated IPFIX messages neither crash the plugin nor change its events"
            "params|the plugin is listed and refuses wrong parameters by name")
        string(REPLACE "|" ";" fields "${case}")
        list(GET fields 0 id)
        list(GET fields 1 what)
        add_test(NAME "ipfixcol2 plugin: ${what}"
            COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/ipfixcol2/plugin_suite.sh ${id} ${SIPDETECT_FLOW_TOOLS_PREFIX}
                $<TARGET_FILE:sipdetect_ipfixcol2_output> $<TARGET_FILE:sipdetect_cli>
                ${CMAKE_CURRENT_BINARY_DIR}/ipfixcol2-plugin/${id})
        set_tests_properties("ipfixcol2 plugin: ${what}" PROPERTIES
            FIXTURES_REQUIRED flow_tools LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 900
            RESOURCE_LOCK ipfixcol2_plugin ENVIRONMENT "${plugin_environment}")
    endforeach()
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
