// Package charts renders insight's figures as SVG on the server, with
// maintained libraries and no network: the process map is laid out by
// Graphviz (github.com/goccy/go-graphviz: Graphviz compiled to WebAssembly,
// run in pure Go by wazero, so no system Graphviz is needed), the charts
// are drawn by gonum.org/v1/plot. Chart text is set in Liberation Sans (gonum's
// fonts); the map is set in Helvetica, whose widths Graphviz knows and which
// browsers draw with a metric-compatible sans (Liberation Sans, Arial).
package charts

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/goccy/go-graphviz"

	"github.com/batonhq/baton/internal/insight"
)

// Palette: one accent for what needs attention, greys for the rest, blue
// for the steady state.
const (
	colorInk        = "#1f2933"
	colorMuted      = "#7b8794"
	colorLine       = "#9aa5b1"
	colorNode       = "#e4ecf7"
	colorNodeStrong = "#bcccdc"
	colorHot        = "#c62828"
	colorHotFill    = "#fde2e1"
	colorEnd        = "#e3f2e5"
)

// MapOptions bound what the map shows: the busiest edges, so a process
// with many variants still reads.
type MapOptions struct {
	// MaxEdges is the most edges drawn (0: 40), the most frequent first;
	// bottlenecks are always drawn.
	MaxEdges int
}

// ProcessMap renders the directly-follows map of d as SVG: each step with
// how many instances reached it, each edge with how often it was taken and
// its median wait; the bottlenecks (the edges that held instances longest
// in all) are drawn in red, thicker, with their share of all waiting.
func ProcessMap(ctx context.Context, d insight.Discovery, o MapOptions) ([]byte, error) {
	return renderDOT(ctx, MapDOT(d, o))
}

// MapDOT is the map as Graphviz DOT source.
func MapDOT(d insight.Discovery, o MapOptions) string {
	maxEdges := o.MaxEdges
	if maxEdges <= 0 {
		maxEdges = 40
	}
	hot := map[[2]string]int{}
	bottleneck := map[[2]string]insight.Edge{}
	for i, b := range d.Bottlenecks {
		if b.Total > 0 && i < 3 {
			hot[[2]string{b.From, b.To}] = i + 1
			bottleneck[[2]string{b.From, b.To}] = b
		}
	}
	edges := slices.Clone(d.Edges) // by count, most frequent first
	var shown []insight.Edge
	for _, e := range edges {
		if len(shown) < maxEdges || hot[[2]string{e.From, e.To}] > 0 {
			shown = append(shown, e)
		}
	}
	nodes := map[string]bool{}
	for _, e := range shown {
		nodes[e.From], nodes[e.To] = true, true
	}
	maxCount := 1
	for _, n := range d.Nodes {
		maxCount = max(maxCount, n.Count)
	}
	var b strings.Builder
	b.WriteString("digraph process {\n")
	fmt.Fprintf(&b, "  graph [rankdir=TB, bgcolor=\"white\", pad=0.3, nodesep=0.35, ranksep=0.45, fontname=\"Helvetica\", fontsize=16, fontcolor=%q, labelloc=t, label=%q];\n",
		colorInk, fmt.Sprintf("%s: %d instances, %d variants", d.Process, d.Instances, len(d.Variants)))
	fmt.Fprintf(&b, "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=12, color=%q, fontcolor=%q, penwidth=1];\n", colorLine, colorInk)
	fmt.Fprintf(&b, "  edge [fontname=\"Helvetica\", fontsize=10, color=%q, fontcolor=%q, arrowsize=0.7];\n", colorLine, colorMuted)
	ids := map[string]string{}
	for i, n := range d.Nodes {
		if !nodes[n.Label] {
			continue
		}
		id := fmt.Sprintf("n%d", i)
		ids[n.Label] = id
		fill := colorNode
		if n.Count*2 >= maxCount {
			fill = colorNodeStrong
		}
		shape := ""
		switch {
		case n.Label == insight.LabelStart:
			shape, fill = ", shape=oval", colorEnd
		case strings.HasPrefix(n.Label, insight.LabelEnd+":"):
			shape, fill = ", shape=oval", colorEnd
		}
		fmt.Fprintf(&b, "  %s [label=<%s<BR/><FONT POINT-SIZE=\"10\" COLOR=%q>%d</FONT>>, fillcolor=%q%s];\n",
			id, html.EscapeString(n.Label), colorInk, n.Count, fill, shape)
	}
	for _, e := range shown {
		width := 1 + 3*float64(e.Count)/float64(max(1, d.Instances))
		label := fmt.Sprint(e.Count)
		if e.Wait.P50 >= 1 {
			label += " · " + Duration(e.Wait.P50)
		}
		attrs := fmt.Sprintf("penwidth=%.1f", width)
		if rank := hot[[2]string{e.From, e.To}]; rank > 0 {
			e = bottleneck[[2]string{e.From, e.To}]
			label = fmt.Sprintf("#%d bottleneck: %s waited in all (%.0f%%)\n%d · median %s, p90 %s", rank, Duration(e.Total), e.Share*100, e.Count, Duration(e.Wait.P50), Duration(e.Wait.P90))
			attrs = fmt.Sprintf("penwidth=%.1f, color=%q, fontcolor=%q", math.Max(width, 3), colorHot, colorHot)
			b.WriteString("  " + ids[e.To] + " [fillcolor=\"" + colorHotFill + "\", color=\"" + colorHot + "\"];\n")
		}
		fmt.Fprintf(&b, "  %s -> %s [label=%q, %s];\n", ids[e.From], ids[e.To], label, attrs)
	}
	b.WriteString("}\n")
	return b.String()
}

// Duration writes seconds for a chart: 850 ms, 42 s, 12 min, 5.5 h, 3.2 d.
func Duration(sec float64) string {
	switch {
	case sec == 0:
		return "0 s"
	case sec < 1:
		return fmt.Sprintf("%.0f ms", sec*1000)
	case sec < 120:
		return fmt.Sprintf("%.0f s", sec)
	case sec < 7200:
		return fmt.Sprintf("%.0f min", sec/60)
	case sec < 2*86400:
		return fmt.Sprintf("%.1f h", sec/3600)
	default:
		return fmt.Sprintf("%.1f d", sec/86400)
	}
}

// graphviz runs one WebAssembly instance at a time: it is not safe for
// concurrent use, and compiling it once is the cost worth keeping.
var (
	gvMu sync.Mutex
	gv   *graphviz.Graphviz
)

// renderDOT lays out and renders DOT source as SVG.
func renderDOT(ctx context.Context, dot string) ([]byte, error) {
	gvMu.Lock()
	defer gvMu.Unlock()
	if gv == nil {
		g, err := graphviz.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("graphviz: %w", err)
		}
		gv = g
	}
	graph, err := graphviz.ParseBytes([]byte(dot))
	if err != nil {
		return nil, fmt.Errorf("graphviz: %w", err)
	}
	defer graph.Close()
	var out bytes.Buffer
	if err := gv.Render(ctx, graph, graphviz.SVG, &out); err != nil {
		return nil, fmt.Errorf("graphviz: %w", err)
	}
	return out.Bytes(), nil
}
