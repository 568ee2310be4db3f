// render-chart renders a Helm chart's templates the way `helm template` does,
// for the features charts/portcullis uses: Go text/template with the sprig
// function library, Helm's own functions (include, tpl, toYaml, fromYaml,
// toJson, required, fail, lookup), .Values (values.yaml, then -f files, then
// --set), .Release, .Chart, .Capabilities and .Template. It exists because the
// repository's checks run where no helm binary is installed; a real cluster
// install is only exercised by test/e2e/kind.sh with helm itself.
//
// Build and run in GOPATH mode against Debian's packages
// (golang-go, golang-github-masterminds-sprig-dev, golang-gopkg-yaml.v2-dev, golang-gopkg-yaml.v3-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run ./scripts/render-chart \
//	  --chart charts/portcullis [--values f.yaml] [--set a.b=c] [--only prefix/] [--output-dir DIR]
//
// Without --output-dir every rendered document is printed on stdout after a
// `# Source: CHART/templates/PATH` line, as helm does. With it each template
// is written to DIR/PATH (templates/ stripped); templates that render to
// nothing are not written.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig"
	yamlv2 "gopkg.in/yaml.v2"
	yaml "gopkg.in/yaml.v3"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// apiVersions is .Capabilities.APIVersions: `.Has "group/version"` or `.Has "group/version/Kind"`.
type apiVersions []string

func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v || strings.HasPrefix(v, x+"/") {
			return true
		}
	}
	return false
}

var builtinAPIVersions = apiVersions{
	"v1", "apps/v1", "batch/v1", "policy/v1", "rbac.authorization.k8s.io/v1",
	"admissionregistration.k8s.io/v1", "apiextensions.k8s.io/v1", "coordination.k8s.io/v1",
	"networking.k8s.io/v1", "autoscaling/v2",
}

func main() {
	var valueFiles, sets, extraAPIs listFlag
	chartDir := flag.String("chart", "charts/portcullis", "chart directory")
	release := flag.String("release-name", "portcullis", "release name")
	namespace := flag.String("namespace", "portcullis-system", "release namespace")
	only := flag.String("only", "", "render only templates whose path under templates/ starts with this")
	outDir := flag.String("output-dir", "", "write each template to DIR/PATH instead of stdout")
	notes := flag.Bool("notes", false, "print the rendered NOTES.txt instead of the manifests")
	flag.Var(&valueFiles, "values", "values file (repeatable; later wins)")
	flag.Var(&sets, "set", "key.path=value (repeatable; after every values file)")
	flag.Var(&extraAPIs, "api-versions", "extra API version in .Capabilities.APIVersions (repeatable)")
	flag.Parse()
	if err := run(*chartDir, *release, *namespace, *only, *outDir, *notes, valueFiles, sets, extraAPIs); err != nil {
		fmt.Fprintln(os.Stderr, "render-chart:", err)
		os.Exit(1)
	}
}

func readYAMLMap(path string) (map[string]interface{}, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// mergeValues overlays src onto dst as helm does: maps merge key by key, anything else replaces; null deletes.
func mergeValues(dst, src map[string]interface{}) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			mergeValues(dm, sm)
		} else {
			dst[k] = v
		}
	}
}

// parseSetValue types a --set value as helm's strvals does for the simple cases: bools, integers, null, else strings.
func parseSetValue(s string) interface{} {
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	return s
}

func applySet(values map[string]interface{}, expr string) error {
	eq := strings.Index(expr, "=")
	if eq <= 0 {
		return fmt.Errorf("--set %q: expected key.path=value", expr)
	}
	keys := strings.Split(expr[:eq], ".")
	m := values
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			m[k] = next
		}
		m = next
	}
	v := parseSetValue(expr[eq+1:])
	if v == nil {
		delete(m, keys[len(keys)-1])
	} else {
		m[keys[len(keys)-1]] = v
	}
	return nil
}

func toYAML(v interface{}) string {
	out, err := yamlv2.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(out), "\n")
}

func funcMap(root *template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	// Helm removes these: a chart must render the same on every machine.
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = toYAML
	f["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	f["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	// No cluster here: lookup finds nothing, as with `helm template`.
	f["lookup"] = func(string, string, string, string) map[string]interface{} { return map[string]interface{}{} }
	f["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	return f
}

func run(chartDir, release, namespace, only, outDir string, notes bool, valueFiles, sets, extraAPIs []string) error {
	chart, err := readYAMLMap(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range valueFiles {
		extra, err := readYAMLMap(f)
		if err != nil {
			return err
		}
		mergeValues(values, extra)
	}
	for _, s := range sets {
		if err := applySet(values, s); err != nil {
			return err
		}
	}
	chartName, _ := chart["name"].(string)
	chartObj := map[string]interface{}{}
	for k, v := range chart {
		chartObj[strings.ToUpper(k[:1])+k[1:]] = v
	}

	var paths []string
	tdir := filepath.Join(chartDir, "templates")
	err = filepath.Walk(tdir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			rel, _ := filepath.Rel(tdir, p)
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)

	root := template.New(chartName)
	root.Funcs(funcMap(root)).Option("missingkey=zero")
	for _, rel := range paths {
		raw, err := os.ReadFile(filepath.Join(tdir, rel))
		if err != nil {
			return err
		}
		name := chartName + "/templates/" + rel
		if _, err := root.New(name).Parse(string(raw)); err != nil {
			return err
		}
	}

	apis := append(apiVersions{}, builtinAPIVersions...)
	apis = append(apis, extraAPIs...)
	for _, rel := range paths {
		base := filepath.Base(rel)
		isNotes := rel == "NOTES.txt"
		if strings.HasPrefix(base, "_") || isNotes != notes || !strings.HasPrefix(rel, only) {
			continue
		}
		name := chartName + "/templates/" + rel
		data := map[string]interface{}{
			"Values":  values,
			"Chart":   chartObj,
			"Release": map[string]interface{}{"Name": release, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
			"Capabilities": map[string]interface{}{
				"KubeVersion": map[string]interface{}{"Version": "v1.31.0", "Major": "1", "Minor": "31", "GitVersion": "v1.31.0"},
				"APIVersions": apis,
			},
			"Template": map[string]interface{}{"Name": name, "BasePath": chartName + "/templates"},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if isNotes {
			fmt.Print(text)
			continue
		}
		docs := splitDocuments(text)
		if len(docs) == 0 {
			continue
		}
		if outDir == "" {
			for _, d := range docs {
				fmt.Printf("---\n# Source: %s\n%s\n", name, d)
			}
			continue
		}
		target := filepath.Join(outDir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		body := "# Rendered from " + filepath.ToSlash(filepath.Join(chartDir, "templates", rel)) + " by scripts/sync-manifests.sh: edit the chart, not this file.\n" + strings.Join(docs, "\n---\n") + "\n"
		if err := os.WriteFile(target, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// splitDocuments cuts rendered text at `---` lines and drops documents that
// hold only whitespace and comments, as helm does with empty output.
func splitDocuments(text string) []string {
	var out []string
	for _, part := range strings.Split("\n"+text, "\n---") {
		doc := strings.Trim(part, "\n")
		doc = strings.TrimRight(doc, " \n")
		meaningful := false
		for _, line := range strings.Split(doc, "\n") {
			t := strings.TrimSpace(line)
			if t != "" && !strings.HasPrefix(t, "#") {
				meaningful = true
				break
			}
		}
		if meaningful {
			out = append(out, trimTrailingSpaces(doc))
		}
	}
	return out
}

func trimTrailingSpaces(doc string) string {
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Join(lines, "\n")
}
