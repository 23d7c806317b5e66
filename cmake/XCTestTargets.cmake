# icl_add_test_support(NAME <TestsFolderName> DEPENDS <targets>...)
#
# A static Swift library of test helpers from Tests/<NAME>/**/*.swift (module <NAME>), which may import XCTest;
# list it in the DEPENDS of the icl_add_xctest targets that use it.
#
# icl_add_xctest(NAME <TestsFolderName> DEPENDS <targets>... [TIMEOUT s] [ENVIRONMENT VAR=value...])
#
# One XCTest executable per Tests/<NAME> folder, named and module-named <NAME>:
# - its entry point (main.swift) is generated at build time by GenerateXCTestMain.cmake from the folder's
#   *.swift, so new test files, classes and methods are picked up without touching CMake;
# - CTest registers one test per XCTestCase class, `<NAME>.<Class>`, running `<exe> <NAME>.<Class>`
#   (the class list is read when ctest runs, from a file the same generator writes).
include_guard(GLOBAL)

# XCTest from the toolchain that holds the Swift compiler (…/usr/bin/swiftc -> …/usr/lib/swift/<os>).
get_filename_component(_icl_swiftc "${CMAKE_Swift_COMPILER}" REALPATH)
get_filename_component(_icl_toolchain_usr "${_icl_swiftc}" DIRECTORY)
get_filename_component(_icl_toolchain_usr "${_icl_toolchain_usr}" DIRECTORY)
string(TOLOWER "${CMAKE_SYSTEM_NAME}" _icl_os)
find_library(XCTEST_LIBRARY NAMES XCTest
  HINTS "${_icl_toolchain_usr}/lib/swift/${_icl_os}" "${_icl_toolchain_usr}/lib/swift/${_icl_os}/${CMAKE_SYSTEM_PROCESSOR}"
  NO_DEFAULT_PATH)
find_path(XCTEST_MODULE_DIR NAMES XCTest.swiftmodule
  HINTS "${_icl_toolchain_usr}/lib/swift/${_icl_os}" "${_icl_toolchain_usr}/lib/swift/${_icl_os}/${CMAKE_SYSTEM_PROCESSOR}"
  NO_DEFAULT_PATH)
if(NOT XCTEST_LIBRARY OR NOT XCTEST_MODULE_DIR)
  message(FATAL_ERROR "XCTest not found next to ${_icl_swiftc} (looked in ${_icl_toolchain_usr}/lib/swift/${_icl_os}); "
                      "install a full Swift toolchain or configure with -DBUILD_TESTING=OFF.")
endif()
get_filename_component(XCTEST_LIBRARY_DIR "${XCTEST_LIBRARY}" DIRECTORY)
message(STATUS "XCTest: ${XCTEST_LIBRARY}")

set(_icl_xctest_generator "${CMAKE_CURRENT_LIST_DIR}/GenerateXCTestMain.cmake")

function(icl_add_test_support)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME" "DEPENDS")
  icl_add_library(${arg_NAME} ROOT Tests DEPENDS ${arg_DEPENDS})
  target_include_directories(${arg_NAME} PRIVATE "${XCTEST_MODULE_DIR}")
  target_link_libraries(${arg_NAME} PUBLIC "${XCTEST_LIBRARY}")
endfunction()

function(icl_add_xctest)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;TIMEOUT" "DEPENDS;ENVIRONMENT")
  set(name "${arg_NAME}")
  set(dir "${CMAKE_SOURCE_DIR}/Tests/${name}")
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 900)
  endif()
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS "${dir}/*.swift")
  list(FILTER sources EXCLUDE REGEX "/main\\.swift$")
  set(gen_dir "${CMAKE_BINARY_DIR}/generated/${name}")
  set(main "${gen_dir}/main.swift")
  set(classes "${gen_dir}/${name}-classes.cmake")

  add_custom_command(
    OUTPUT "${main}" "${classes}"
    COMMAND "${CMAKE_COMMAND}" -DTEST_DIR=${dir} -DOUTPUT=${main} -DCLASSES_FILE=${classes}
            -P "${_icl_xctest_generator}"
    DEPENDS ${sources} "${_icl_xctest_generator}"
    COMMENT "Generating the XCTest entry point of ${name}"
    VERBATIM)

  icl_add_executable(${name} ${sources} "${main}")
  set_target_properties(${name} PROPERTIES
    Swift_MODULE_NAME ${name}
    BUILD_RPATH "${XCTEST_LIBRARY_DIR}")
  target_include_directories(${name} PRIVATE "${XCTEST_MODULE_DIR}")
  target_link_libraries(${name} PRIVATE ${arg_DEPENDS} "${XCTEST_LIBRARY}")
  icl_swift_module_depends(${name} ${arg_DEPENDS})
  # libXCTest.so may carry no RUNPATH of its own (Swift 6.3's does not) yet needs the toolchain's
  # lib_FoundationICU.so: a DT_RPATH (unlike DT_RUNPATH) also serves the libraries' dependencies.
  target_link_options(${name} PRIVATE "LINKER:--disable-new-dtags")

  # Read by ctest (not cmake): registers `<name>.<Class>` per class once the build has listed them.
  set(env "${arg_ENVIRONMENT}")
  file(GENERATE OUTPUT "${CMAKE_BINARY_DIR}/ctest/${name}.cmake" CONTENT "\
set(_exe \"$<TARGET_FILE:${name}>\")
set(ICL_XCTEST_CLASSES \"\")
if(EXISTS \"${classes}\")
  include(\"${classes}\")
  if(ICL_XCTEST_CLASSES STREQUAL \"\")
    add_test(\"${name}\" \"\${_exe}\")
    set_tests_properties(\"${name}\" PROPERTIES TIMEOUT ${arg_TIMEOUT} ENVIRONMENT \"${env}\")
  endif()
  foreach(_c IN LISTS ICL_XCTEST_CLASSES)
    add_test(\"${name}.\${_c}\" \"\${_exe}\" \"${name}.\${_c}\")
    set_tests_properties(\"${name}.\${_c}\" PROPERTIES TIMEOUT ${arg_TIMEOUT} ENVIRONMENT \"${env}\"
      FAIL_REGULAR_EXPRESSION \"Executed 0 tests\")
  endforeach()
else()
  add_test(\"${name}_NOT_BUILT\" \"${name}_NOT_BUILT\")
endif()
")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${CMAKE_BINARY_DIR}/ctest/${name}.cmake")
endfunction()
