# Conan 2 recipe for sipdetect, a header-only C++20 library.
#
#   conan create cmake/conan -s compiler.cppstd=20
#
# (any cppstd of 20 or later; the default profile of GCC 12 says gnu17, which
# validate() refuses). The recipe lives in cmake/conan of the sipdetect
# repository and exports the headers and licence from the checkout around it.
import os

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy
from conan.tools.layout import basic_layout
from conan.tools.scm import Version

required_conan_version = ">=2.0"


class SipdetectConan(ConanFile):
    name = "sipdetect"
    version = "0.1.0"
    description = "Header-only C++20 detector of SIP scanners and SIP proxies in flow records"
    license = "Apache-2.0"
    url = "https://github.com/sipdetect/sipdetect"
    homepage = "https://github.com/sipdetect/sipdetect"
    topics = ("sip", "voip", "intrusion-detection", "flow-records", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    no_copy_source = True

    # Compilers the library is tested with (Debian 12's GCC 12 and Clang 14).
    _minimum_compilers = {"gcc": "12", "clang": "14"}

    @property
    def _checkout(self):
        return os.path.join(self.recipe_folder, "..", "..")

    def export_sources(self):
        # exports_sources patterns cannot leave the recipe folder, and the
        # sources live two levels up: copy them explicitly.
        copy(self, "*.hpp", src=os.path.join(self._checkout, "include"),
             dst=os.path.join(self.export_sources_folder, "include"))
        copy(self, "LICENSE", src=self._checkout, dst=self.export_sources_folder)

    def layout(self):
        basic_layout(self, src_folder=".")

    def package_id(self):
        self.info.clear()

    def validate(self):
        check_min_cppstd(self, 20)
        minimum = self._minimum_compilers.get(str(self.settings.compiler))
        if minimum and Version(self.settings.compiler.version) < minimum:
            raise ConanInvalidConfiguration(
                f"{self.ref} needs {self.settings.compiler} {minimum} or later for C++20")

    def package(self):
        copy(self, "LICENSE", src=self.source_folder, dst=os.path.join(self.package_folder, "licenses"))
        copy(self, "*.hpp", src=os.path.join(self.source_folder, "include"),
             dst=os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        self.cpp_info.set_property("cmake_file_name", "sipdetect")
        self.cpp_info.set_property("cmake_target_name", "sipdetect::sipdetect")
        self.cpp_info.set_property("pkg_config_name", "sipdetect")
