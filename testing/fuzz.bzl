"""cc_fuzz_test: a libFuzzer target whose checked-in corpus runs as a test.

    cc_fuzz_test(
        name = "value_codec_json_fuzz",      # source: value_codec_json_fuzz.cc
        deps = [":core"],                    # corpus: value_codec_json_fuzz_corpus/
    )

defines the cc_test `<name>_test`, which links `<name>.cc` (it defines
LLVMFuzzerTestOneInput) with //testing:fuzz_driver_main and runs it once
over every file of `<name>_corpus/` with the default toolchain (and under
--config=sanitize in CI). tools/fuzz.sh builds the same source with clang's
libFuzzer to fuzz it for real.
"""

def cc_fuzz_test(name, deps = [], srcs = None, data = [], **kwargs):
    corpus = name + "_corpus"
    native.cc_test(
        name = name + "_test",
        size = kwargs.pop("size", "small"),
        srcs = srcs or [name + ".cc"],
        args = [native.package_name() + "/" + corpus],
        data = data + native.glob([corpus + "/**"]),
        deps = deps + ["//testing:fuzz_driver_main"],
        **kwargs
    )
