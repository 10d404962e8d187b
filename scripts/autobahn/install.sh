#!/usr/bin/env bash
# Installs the Autobahn TestSuite's wstest into Python 2.7 from the
# sources of its dependencies at pinned tags, without PyPI (see README.md
# here). Each repository comes from $MIRROR/<owner>+<name>/repo when that
# git directory exists (a local mirror), else from GitHub.
#
#   scripts/autobahn/install.sh          # into ~/.pyenv/versions/2.7.18
#   PYTHON2=/usr/bin/python2 MIRROR=/work/.mirror scripts/autobahn/install.sh
set -euo pipefail
py2=${PYTHON2:-$HOME/.pyenv/versions/2.7.18/bin/python}
mirror=${MIRROR:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# checkout OWNER/NAME TAG: the tree at TAG in $work/NAME.
checkout() {
  local repo=$1 tag=$2 name=${1#*/} src
  src="$mirror/${repo/\//+}/repo"
  if [ -n "$mirror" ] && [ -d "$src" ]; then
    mkdir -p "$work/$name"
    git -C "$src" archive "$tag" | tar -x -C "$work/$name"
  else
    git clone -q --depth 1 --branch "$tag" "https://github.com/$repo" "$work/$name"
  fi
}

pipi() { "$py2" -m pip install -q --no-deps --no-build-isolation --no-index "$1"; }
setup() { (cd "$1" && "$py2" setup.py -q install >/dev/null); }

checkout benjaminp/six 1.16.0 && pipi "$work/six"
checkout zopefoundation/zope.interface 4.6.0 && pipi "$work/zope.interface"
checkout twisted/constantly 15.1.0 && pipi "$work/constantly"
checkout twisted/incremental incremental-16.10.1 && pipi "$work/incremental"
checkout python-attrs/attrs 19.3.0 && setup "$work/attrs"
checkout kjd/idna v2.10 && pipi "$work/idna"
checkout python-hyper/hyperlink v19.0.0 && pipi "$work/hyperlink"
checkout glyph/automat v0.8.0
# Automat's setup.py wants m2r and setuptools-scm for its description
# and version only.
sed -i -e "s/use_scm_version=True/version='0.8.0'/" -e "/setup_requires/,/\]/d" \
  -e "s/long_description=.*/long_description='',/" "$work/automat/setup.py"
setup "$work/automat"
checkout hamcrest/PyHamcrest V1.9.0 && pipi "$work/PyHamcrest"
checkout twisted/twisted twisted-19.10.0 && setup "$work/twisted"
checkout crossbario/txaio v2.1.0 && pipi "$work/txaio"
checkout crossbario/autobahn-python v0.10.9
ab="$work/autobahn-python"; [ -d "$ab/python" ] && ab="$ab/python"
pipi "$ab"
checkout pallets/markupsafe 1.1.1 && pipi "$work/markupsafe"
checkout pallets/jinja 2.11.3 && pipi "$work/jinja"
checkout crossbario/autobahn-testsuite master
pipi "$work/autobahn-testsuite/autobahntestsuite"
"$py2" "$(dirname "$0")/wstest.py" --autobahnversion
