// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every command in the table answers -h with its usage and every one of its
// flags with its default, on standard output, exit status 0; so does
// pboc help COMMAND.
func TestEveryCommandHelp(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			for _, args := range [][]string{{c.name, "-h"}, {c.name, "--help"}, {"help", c.name}} {
				code, out, errOut := runCLI(t, args...)
				require.Equal(t, 0, code, "%v: %s", args, errOut)
				assert.Empty(t, errOut)
				assert.True(t, strings.HasPrefix(out, "usage: pboc "+c.name), out)
				assert.NotContains(t, out, "help requested")
			}
			_, out, _ := runCLI(t, c.name, "-h")
			for _, fl := range commandFlags(t, c) {
				assert.Contains(t, out, "\n  --"+fl.Name, "flag %s listed", fl.Name)
				if fl.DefValue != "" && fl.DefValue != "false" {
					assert.Contains(t, out, "(default "+fl.DefValue+")", "flag %s's default", fl.Name)
				}
			}
		})
	}
	code, out, _ := runCLI(t, "help")
	require.Equal(t, 0, code)
	for _, c := range commands {
		assert.Contains(t, out, "\n  "+c.name+" ")
	}
	code, _, errOut := runCLI(t, "help", "bogus")
	assert.Equal(t, 2, code)
	assert.Equal(t, "pboc help: unknown command \"bogus\" (pboc help lists them)\n", errOut)
}

// commandFlags runs c with -h on a flag set it registers into, to learn
// its flags independently of what the help text says.
func commandFlags(t *testing.T, c command) []*flag.Flag {
	t.Helper()
	var seen []*flag.Flag
	called := false
	e := &env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	captured = func(fs *flag.FlagSet) {
		called = true
		fs.VisitAll(func(f *flag.Flag) { seen = append(seen, f) })
	}
	defer func() { captured = nil }()
	_ = c.run(context.Background(), e, []string{"-h"})
	require.True(t, called, "no flag set seen for %s", c.name)
	return seen
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		code, out, errOut := runCLI(t, arg)
		require.Equal(t, 0, code, errOut)
		assert.Regexp(t, `^pboc \S+.* go1\.\d+`, out)
		assert.Equal(t, 1, strings.Count(out, "\n"))
	}
}

// Full-width digits and point from a Chinese input method are the digits
// they show, in amounts and PINs; other non-ASCII is refused, shown.
func TestFullWidthInput(t *testing.T) {
	p := purchase(t, "--amount", "１２．３４")
	assert.Equal(t, "12.34", p.Amount)
	assert.Equal(t, "487.66", *p.BalanceAfter)
	p = purchase(t, "--amount", "300.01", "--pin", "１２３４５６")
	assert.Equal(t, "approved_online", p.Outcome, "the full-width PIN is the issuer's 123456")
	code, _, errOut := runCLI(t, "purchase", "--amount", "１２。３４")
	assert.Equal(t, 2, code)
	assert.Equal(t, "pboc purchase: --amount \"１２。３４\": '。' (U+3002) at character 3 is not a digit or a decimal point\n", errOut)
	code, _, errOut = runCLI(t, "purchase", "--amount", "－１")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "a negative amount")
}

// --pin is checked before any APDU: 4 to 12 digits, or empty (bypass);
// the message never shows the PIN.
func TestPINValidatedUpFront(t *testing.T) {
	for _, pin := range []string{"123", "1234567890123", "12a456", "12 456", "١٢٣٤"} {
		code, out, errOut := runCLI(t, "purchase", "--amount", "1.00", "--pin", pin)
		assert.Equal(t, 2, code, pin)
		assert.Empty(t, out, "no transaction ran")
		assert.NotContains(t, errOut, pin)
	}
	for _, pin := range []string{"1234", "123456789012", ""} {
		code, _, errOut := runCLI(t, "purchase", "--amount", "1.00", "--pin", pin, "--json")
		assert.Equal(t, 0, code, "%q: %s", pin, errOut)
	}
	code, out, _ := runCLI(t, "purchase", "--amount", "300.01", "--pin", "")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "PIN pad present, but PIN was not entered", "empty: the cardholder bypasses PIN entry")
}

// The CID is hex in the JSON as in the journal and the examples; amounts
// are yuan strings.
func TestJSONWritesCIDAsHex(t *testing.T) {
	code, out, _ := runCLI(t, "purchase", "--amount", "1.00", "--json")
	require.Equal(t, 0, code)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	assert.Equal(t, "40", m["cid"])
	assert.Equal(t, "1.00", m["amount"])
	assert.Equal(t, "500.00", m["balance_before"])
}

// The README's bad-input table is this test: each row's command, run as
// typed, prints exactly the message shown (one line on standard error)
// and exits with the status shown.
func TestREADMEBadInputTable(t *testing.T) {
	rows := readmeTable(t, "../../README.md", "<!-- bad-input table -->")
	require.GreaterOrEqual(t, len(rows), 15)
	t.Chdir("../..") // the README's commands run from the repository root
	for _, row := range rows {
		t.Run(row.input, func(t *testing.T) {
			args := shellWords(t, strings.TrimSpace(strings.TrimPrefix(row.input, "pboc")))
			before := map[string][]byte{} // the files a row names are left as they were
			for _, a := range args {
				if b, err := os.ReadFile(a); err == nil {
					before[a] = b
				}
			}
			var out, errOut bytes.Buffer
			code := runEnv(context.Background(), &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}, args)
			for a, b := range before {
				now, err := os.ReadFile(a)
				require.NoError(t, err, "%s still there", a)
				assert.Equal(t, b, now, "%s not rewritten", a)
			}
			for _, a := range args {
				_, err := os.Stat(a + ".key")
				assert.True(t, strings.HasPrefix(a, "/tmp/") || os.IsNotExist(err), "no key made beside %s", a)
			}
			assert.Equal(t, row.code, code, errOut.String())
			if row.message == "" {
				for _, line := range strings.Split(errOut.String(), "\n") {
					assert.False(t, strings.HasPrefix(line, "pboc"), "no error: %s", line)
				}
				return
			}
			assert.Equal(t, row.message+"\n", errOut.String())
		})
	}
}

type readmeRow struct {
	input, message string
	code           int
}

// readmeTable reads the table after marker: | `input` | `message` or — | code |.
func readmeTable(t *testing.T, path, marker string) []readmeRow {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(b), marker)
	require.True(t, ok, "marker %q in %s", marker, path)
	cell := regexp.MustCompile("^`(.*)`$")
	var rows []readmeRow
	sc := bufio.NewScanner(strings.NewReader(after))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 0 {
				break
			}
			continue
		}
		cols := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cols) != 3 || !cell.MatchString(strings.TrimSpace(cols[0])) {
			continue // the header and the separator
		}
		r := readmeRow{input: cell.FindStringSubmatch(strings.TrimSpace(cols[0]))[1]}
		if m := cell.FindStringSubmatch(strings.TrimSpace(cols[1])); m != nil {
			r.message = strings.ReplaceAll(m[1], `\|`, "|")
		}
		switch strings.TrimSpace(cols[2]) {
		case "0":
		case "1":
			r.code = 1
		case "2":
			r.code = 2
		default:
			t.Fatalf("exit status %q in %q", cols[2], line)
		}
		rows = append(rows, r)
	}
	return rows
}

// shellWords splits a command line as a shell would for the table's
// inputs: words separated by spaces, "double" and 'single' quotes.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	require.Zero(t, quote, "unclosed quote in %q", s)
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
