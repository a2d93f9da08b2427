package charts

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"maps"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/batonhq/baton/internal/insight"
	"github.com/batonhq/baton/internal/whatif"
)

func init() {
	// Sans reads better on a screen than gonum's default serif.
	plot.DefaultFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
}

var (
	ink     = color.RGBA{0x1f, 0x29, 0x33, 0xff}
	blue    = color.RGBA{0x1e, 0x5a, 0xa8, 0xff}
	light   = color.RGBA{0x9f, 0xb3, 0xc8, 0xff}
	orange  = color.RGBA{0xd9, 0x77, 0x06, 0xff}
	hot     = color.RGBA{0xc6, 0x28, 0x28, 0xff}
	grid    = color.RGBA{0xe4, 0xe7, 0xeb, 0xff}
	palette = []color.Color{blue, orange, color.RGBA{0x2e, 0x7d, 0x32, 0xff}, hot, color.RGBA{0x6a, 0x1b, 0x9a, 0xff}, color.RGBA{0x00, 0x83, 0x8f, 0xff}, light}
)

// newPlot is a plot in Baton's style: a title, light grid, no clutter.
func newPlot(title, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Title.TextStyle.Color = ink
	p.Title.Padding = vg.Points(8)
	p.Y.Label.Text = yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(10)
		a.Tick.Label.Font.Size = vg.Points(9)
		a.Color, a.Tick.Color = light, light
		a.Label.TextStyle.Color, a.Tick.Label.Color = ink, ink
	}
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = color.Transparent, grid
	p.Add(g)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	return p
}

// render draws plots stacked top to bottom into one SVG of width × height.
func render(width, height vg.Length, plots ...*plot.Plot) ([]byte, error) {
	c := vgsvg.New(width, height)
	dc := draw.New(c)
	rows := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		rows[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(rows, draw.Tiles{Rows: len(plots), Cols: 1, PadX: vg.Points(10), PadY: vg.Points(14), PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(14)}, dc)
	for i, p := range plots {
		p.Draw(canvases[i][0])
	}
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// durationUnit is the unit a chart's durations read best in.
func durationUnit(largest float64) (string, float64) {
	switch {
	case largest < 120:
		return "seconds", 1
	case largest < 7200:
		return "minutes", 60
	case largest < 2*86400:
		return "hours", 3600
	default:
		return "days", 86400
	}
}

// Weekly renders, per calendar week, the cycle time (median, and mean with
// its standard deviation as bars: the spread) above the automation rate.
func Weekly(process string, weeks []insight.Week) ([]byte, error) {
	largest := 0.0
	for _, w := range weeks {
		largest = math.Max(largest, math.Max(w.CycleTime.P90, w.CycleTime.Mean+w.CycleTime.StdDev))
	}
	unit, div := durationUnit(largest)
	cycle := newPlot(fmt.Sprintf("%s: cycle time per week (workflow start to close)", process), unit)
	rate := newPlot(fmt.Sprintf("%s: automation rate per week", process), "% automated")
	var labels []string
	median, mean, p90 := plotter.XYs{}, make(meanSpread, 0, len(weeks)), plotter.XYs{}
	var bars plotter.Values
	for i, w := range weeks {
		x := float64(i)
		labels = append(labels, w.Start.Format("Jan 2")+fmt.Sprintf("\n%d done", w.Completed))
		median = append(median, plotter.XY{X: x, Y: w.CycleTime.P50 / div})
		p90 = append(p90, plotter.XY{X: x, Y: w.CycleTime.P90 / div})
		mean = append(mean, [3]float64{x, w.CycleTime.Mean / div, w.CycleTime.StdDev / div})
		bars = append(bars, w.AutomationRate*100)
	}
	if len(weeks) == 0 {
		cycle.Title.Text += ": no instance completed in the window"
	} else {
		l, pts, err := plotter.NewLinePoints(median)
		if err != nil {
			return nil, err
		}
		l.Color, pts.Color, l.Width = blue, blue, vg.Points(2)
		pts.Shape = draw.CircleGlyph{}
		l90, err := plotter.NewLine(p90)
		if err != nil {
			return nil, err
		}
		l90.Color, l90.Dashes, l90.Width = light, []vg.Length{vg.Points(4), vg.Points(3)}, vg.Points(1.5)
		eb, err := plotter.NewYErrorBars(mean)
		if err != nil {
			return nil, err
		}
		eb.Color, eb.Width, eb.CapWidth = orange, vg.Points(1.5), vg.Points(8)
		ms, err := plotter.NewScatter(mean)
		if err != nil {
			return nil, err
		}
		ms.Color, ms.Shape = orange, draw.BoxGlyph{}
		cycle.Add(l90, l, pts, eb, ms)
		cycle.Legend.Add("median", l, pts)
		cycle.Legend.Add("90th percentile", l90)
		cycle.Legend.Add("mean ± standard deviation", ms)
		bc, err := plotter.NewBarChart(bars, vg.Points(28))
		if err != nil {
			return nil, err
		}
		bc.Color, bc.LineStyle.Width = blue, 0
		rate.Add(bc)
	}
	// Headroom above the highest value for the legend.
	cycle.Y.Min, cycle.Y.Max, rate.Y.Min, rate.Y.Max = 0, largest/div*1.25, 0, 100
	cycle.NominalX(labels...)
	rate.NominalX(labels...)
	cycle.X.Min, cycle.X.Max = -0.5, float64(max(len(weeks), 1))-0.5
	rate.X.Min, rate.X.Max = cycle.X.Min, cycle.X.Max
	return render(9*vg.Inch, 6.5*vg.Inch, cycle, rate)
}

// meanSpread is points (x, mean) with a symmetric error (the standard
// deviation), for error bars.
type meanSpread [][3]float64

func (m meanSpread) Len() int                    { return len(m) }
func (m meanSpread) XY(i int) (float64, float64) { return m[i][0], m[i][1] }
func (m meanSpread) YError(i int) (float64, float64) {
	// Bars never below zero: a duration is not negative.
	return math.Min(m[i][2], m[i][1]), m[i][2]
}

// Backlog renders the open tasks each role (or named person) could act on
// over time, the six busiest roles.
func Backlog(points []insight.BacklogPoint, names func(who string) string) ([]byte, error) {
	peak := map[string]int{}
	for _, p := range points {
		for who, n := range p.ByRole {
			peak[who] = max(peak[who], n)
		}
	}
	roles := slices.SortedFunc(maps.Keys(peak), func(a, b string) int { return cmp.Or(cmp.Compare(peak[b], peak[a]), cmp.Compare(a, b)) })
	roles = roles[:min(6, len(roles))]
	p := newPlot("Open tasks by role over time", "open tasks")
	p.X.Tick.Marker = plot.TimeTicks{Format: "Jan 2\n15:04"}
	p.Legend.Left = false
	for i, role := range roles {
		var xy plotter.XYs
		for _, pt := range points {
			xy = append(xy, plotter.XY{X: float64(pt.At.Unix()), Y: float64(pt.ByRole[role])})
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = palette[i%len(palette)], vg.Points(2)
		p.Add(l)
		label := role
		if names != nil {
			label = names(role)
		}
		p.Legend.Add(label, l)
	}
	if len(roles) == 0 {
		p.Title.Text += ": no task was open in the window"
	}
	p.Y.Min = 0
	if len(points) > 0 {
		p.X.Min, p.X.Max = float64(points[0].At.Unix()), float64(points[len(points)-1].At.Unix())
	}
	return render(9*vg.Inch, 4*vg.Inch, p)
}

// WhatIf renders a what-if's before and after per process: the automation
// rate and the mean cycle time, now (what happened) and under the
// proposed policy.
func WhatIf(rep whatif.Report) ([]byte, error) {
	var names []string
	var rateNow, rateThen, cycleNow, cycleThen plotter.Values
	largest := 0.0
	for _, p := range rep.Processes {
		if p.Evaluated == 0 {
			continue
		}
		names = append(names, p.Process)
		rateNow, rateThen = append(rateNow, p.Current.AutomationRate*100), append(rateThen, p.Proposed.AutomationRate*100)
		cycleNow, cycleThen = append(cycleNow, p.Current.MeanCycleSeconds), append(cycleThen, p.Proposed.MeanCycleSeconds)
		largest = math.Max(largest, math.Max(p.Current.MeanCycleSeconds, p.Proposed.MeanCycleSeconds))
	}
	unit, div := durationUnit(largest)
	for i := range cycleNow {
		cycleNow[i], cycleThen[i] = cycleNow[i]/div, cycleThen[i]/div
	}
	rate := newPlot("Automation rate: now and under the proposed policy "+rep.PolicyVersion, "% automated")
	cycle := newPlot("Mean cycle time: now and under the proposed policy", unit)
	for _, panel := range []struct {
		p         *plot.Plot
		now, then plotter.Values
	}{{rate, rateNow, rateThen}, {cycle, cycleNow, cycleThen}} {
		if len(names) == 0 {
			panel.p.Title.Text += ": nothing to compare"
			continue
		}
		w := vg.Points(26)
		a, err := plotter.NewBarChart(panel.now, w)
		if err != nil {
			return nil, err
		}
		b, err := plotter.NewBarChart(panel.then, w)
		if err != nil {
			return nil, err
		}
		a.Color, b.Color = light, blue
		a.LineStyle.Width, b.LineStyle.Width = 0, 0
		a.Offset, b.Offset = -w/2, w/2
		panel.p.Add(a, b)
		panel.p.Legend.Add("now", a)
		panel.p.Legend.Add("proposed", b)
		panel.p.Legend.Left = false
		panel.p.NominalX(names...)
		panel.p.Y.Min = 0
	}
	rate.Y.Max = 100
	return render(9*vg.Inch, 6.5*vg.Inch, rate, cycle)
}
