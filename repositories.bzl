"""The external repositories of cache_alchemy, for this workspace and for yours.

A workspace that uses cache_alchemy needs these lines in its WORKSPACE (the
first may be an http_archive or git_repository instead; the name must be
"cache_alchemy" only if you want to copy labels from our docs verbatim):

    local_repository(name = "cache_alchemy", path = "/path/to/cache_alchemy")

    load("@cache_alchemy//:repositories.bzl", "cache_alchemy_dependencies")

    cache_alchemy_dependencies()

and, in its .bazelrc, C++20 for its own code and for tools built for the host:

    build --cxxopt=-std=c++20 --host_cxxopt=-std=c++20

Then `deps = ["@cache_alchemy//:cache_alchemy"]` builds, offline, and the
built-in backend plugins come along as runfiles.

cache_alchemy_dependencies() declares, unless the workspace already declared a
repository of the same name (say a pinned @com_google_absl of your own):

  - @rules_cc, @rules_java, @remote_coverage_tools: small offline stand-ins
    (third_party/<name>/) for the repositories that Bazel 4.2.3 would download
    for any C++ build or test;
  - @platforms: Debian's bazel-platforms package;
  - @com_google_absl, @com_google_googletest, @com_github_google_benchmark,
    @boost, @hiredis, @libmemcached, @cereal, @nlohmann_json: Debian's -dev
    packages, wrapped by third_party/system_library.bzl.

To use your own version of one of these (a pinned @com_google_absl, say),
declare it before calling cache_alchemy_dependencies(): a name declared
earlier is skipped, one declared later would clash.
"""

load("//third_party:system_library.bzl", "system_libraries")

def _stand_in_impl(rctx):
    # The stand-in's folder in this repository, wherever this repository is
    # (the main workspace or an external one): link its contents, and give
    # the new repository its own WORKSPACE file.
    folder = rctx.path(rctx.attr.build_file).dirname
    for child in folder.readdir():
        if child.basename not in ("WORKSPACE", "WORKSPACE.bazel"):
            rctx.symlink(child, child.basename)
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)

_stand_in = repository_rule(
    implementation = _stand_in_impl,
    doc = "A repository made of the files of a folder of cache_alchemy (an offline stand-in).",
    attrs = {
        "build_file": attr.label(
            allow_single_file = True,
            mandatory = True,
            doc = "the BUILD file at the root of the stand-in folder",
        ),
    },
    local = True,
)

def _declare(rule, name, **kwargs):
    if not native.existing_rule(name):
        rule(name = name, **kwargs)

def cache_alchemy_dependencies():
    """Declares every external repository cache_alchemy's build needs, offline.

    Repositories the workspace already declared keep their definition.
    """
    for name in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        _declare(
            _stand_in,
            name = name,
            build_file = Label("//third_party/%s:BUILD" % name),
        )

    # From Debian's bazel-platforms package (setup.sh installs it).
    _declare(
        native.local_repository,
        name = "platforms",
        path = "/usr/share/bazel/tools/platforms",
    )

    # Debian's libraries under their conventional names (skips declared ones).
    system_libraries()
