# Sanitizer and fuzzing builds, each in its own build directory (scripts/test makes them):
#   -DRDBOX_SANITIZE=address  ASan + UBSan (build-asan): unit and integration suites
#   -DRDBOX_SANITIZE=thread   TSan: the unit test binary (the library's threaded tests)
#   -DRDBOX_FUZZ=ON           libFuzzer targets (tests/fuzz); needs clang
# A sanitized binary cannot be static (the runtimes are shared objects or need the
# dynamic loader's help), so RDBOX_STATIC is turned off for these builds.
#
# Code that runs in a child sharing rdbox's memory on a tiny stack (the exec stub, the
# spawn guard, the vfork child) is built without instrumentation: see the comments at
# each exclusion. Everything else is instrumented.
set(RDBOX_SANITIZE "" CACHE STRING "Sanitizers: empty, address (ASan+UBSan) or thread (TSan)")
set_property(CACHE RDBOX_SANITIZE PROPERTY STRINGS "" address thread)
option(RDBOX_FUZZ "Build the libFuzzer targets (clang)" OFF)

set(RDBOX_SANITIZE_FLAGS "")
if(RDBOX_SANITIZE STREQUAL "address")
  set(RDBOX_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
elseif(RDBOX_SANITIZE STREQUAL "thread")
  set(RDBOX_SANITIZE_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT RDBOX_SANITIZE STREQUAL "")
  message(FATAL_ERROR "RDBOX_SANITIZE=${RDBOX_SANITIZE}: want address or thread")
endif()
if(RDBOX_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "RDBOX_FUZZ needs clang (libFuzzer): configure with CXX=clang++ CC=clang")
  endif()
  # Coverage for the fuzzer in everything; the fuzzer's main only in the fuzz targets.
  list(APPEND RDBOX_SANITIZE_FLAGS -fsanitize=fuzzer-no-link)
  if(RDBOX_SANITIZE STREQUAL "")
    list(APPEND RDBOX_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  endif()
endif()

if(RDBOX_SANITIZE_FLAGS)
  set(RDBOX_STATIC OFF)
  # In the language flags (not add_compile_options), so that the per-file exclusions
  # below come later on the command line and win.
  list(JOIN RDBOX_SANITIZE_FLAGS " " flags)
  string(APPEND CMAKE_C_FLAGS " ${flags}")
  string(APPEND CMAKE_CXX_FLAGS " ${flags}")
  string(APPEND CMAKE_EXE_LINKER_FLAGS " ${flags}")
  string(APPEND CMAKE_SHARED_LINKER_FLAGS " ${flags}")
  # src/stub/ is the child side: it runs between clone/vfork and execve (and, for the
  # init, instead of it), possibly in rdbox's own address space (CLONE_VM, vfork) on a
  # 16 KiB mmap'd stack, and must not call anything it does not control. Instrumented, it
  # would write redzone poison into the shadow of memory the parent owns (and never clear
  # it, because the child execs or _exits instead of returning), grow its frames past the
  # tiny stack, and call into the sanitizer runtime, which takes locks another thread of
  # rdbox may hold. CMakeLists.txt gives the same files the stub's own flags.
  # Every file of src/stub/ (the rdbox_stub object library, whose symbols CheckStub.cmake
  # checks), found by glob so that a new stub file is covered too.
  file(GLOB stub_sources ${PROJECT_SOURCE_DIR}/src/stub/*.cpp)
  foreach(stub_file IN LISTS stub_sources)
    set_property(SOURCE ${stub_file} APPEND_STRING PROPERTY COMPILE_FLAGS " -fno-sanitize=all")
  endforeach()
  add_compile_definitions(RDBOX_SANITIZED=1)
endif()
