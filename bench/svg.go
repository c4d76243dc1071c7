package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Chart is what the suite draws: panels of horizontal bars (throughput,
// lookup time) or of lines (build time, memory against indicator count).
// The zero value draws an empty chart.
type Chart struct {
	Title  string  `json:"title"`
	Panels []Panel `json:"panels"`
}

// Panel is one plot. With Bars it is a horizontal bar chart; with Series a
// line chart over X (log scale when LogX). Plain data; the zero value
// draws a title only.
type Panel struct {
	Title  string   `json:"title"`
	Unit   string   `json:"unit"`
	Bars   []Bar    `json:"bars,omitempty"`
	Series []Series `json:"series,omitempty"`
	LogX   bool     `json:"log_x,omitempty"`
	LogY   bool     `json:"log_y,omitempty"`
	XUnit  string   `json:"x_unit,omitempty"`
}

// Bar is one labelled value; Group picks its colour. A NaN or
// non-positive value draws no bar. Plain data.
type Bar struct {
	Label string  `json:"label"`
	Value float64 `json:"value"`
	Group int     `json:"group"`
}

// Series is one line of points; a point with a NaN or non-positive Y is
// skipped. Dashed draws an extrapolated line. Plain data.
type Series struct {
	Name   string    `json:"name"`
	X      []float64 `json:"x"`
	Y      []float64 `json:"y"`
	Dashed bool      `json:"dashed,omitempty"`
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

const (
	chartW     = 860
	panelPad   = 20
	labelW     = 300
	barH       = 18
	lineH      = 260
	titleH     = 28
	axisLabelH = 24
)

// WriteSVG draws the chart as a standalone SVG document.
func (c *Chart) WriteSVG(w io.Writer) error {
	var body strings.Builder
	y := 10.0
	if c.Title != "" {
		fmt.Fprintf(&body, `<text x="%d" y="%.0f" font-size="18" font-weight="bold">%s</text>`+"\n", panelPad, y+18, esc(c.Title))
		y += 34
	}
	for _, p := range c.Panels {
		var h float64
		if len(p.Series) > 0 {
			h = p.drawLines(&body, y)
		} else {
			h = p.drawBars(&body, y)
		}
		y += h + panelPad
	}
	_, err := fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="0 0 %d %.0f" font-family="sans-serif" font-size="12">`+"\n"+
		`<rect width="100%%" height="100%%" fill="white"/>`+"\n%s</svg>\n", chartW, y, chartW, y, body.String())
	return err
}

func esc(s string) string { return html.EscapeString(s) }

func (p *Panel) drawBars(b *strings.Builder, y0 float64) float64 {
	fmt.Fprintf(b, `<text x="%d" y="%.0f" font-size="14" font-weight="bold">%s</text>`+"\n", panelPad, y0+18, esc(p.Title+" ("+p.Unit+")"))
	y := y0 + titleH
	maxV := 0.0
	for _, bar := range p.Bars {
		if !math.IsNaN(bar.Value) {
			maxV = math.Max(maxV, bar.Value)
		}
	}
	plotW := float64(chartW - labelW - 2*panelPad - 60)
	scale := func(v float64) float64 {
		if maxV <= 0 || math.IsNaN(v) || v <= 0 {
			return 0
		}
		if p.LogY {
			lo := maxV / 1e4
			if v < lo {
				return 1
			}
			return plotW * math.Log10(v/lo) / math.Log10(maxV/lo)
		}
		return plotW * v / maxV
	}
	for _, bar := range p.Bars {
		x := float64(panelPad + labelW)
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="end">%s</text>`+"\n", x-6, y+13, esc(bar.Label))
		wd := scale(bar.Value)
		fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="%.1f" height="%d" fill="%s"/>`+"\n", x, y+2, wd, barH-4, palette[bar.Group%len(palette)])
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", x+wd+4, y+13, esc(si(bar.Value)))
		y += barH
	}
	if p.LogY {
		fmt.Fprintf(b, `<text x="%d" y="%.0f" fill="#666">log scale</text>`+"\n", panelPad+labelW, y+14)
		y += 18
	}
	return y - y0
}

func (p *Panel) drawLines(b *strings.Builder, y0 float64) float64 {
	fmt.Fprintf(b, `<text x="%d" y="%.0f" font-size="14" font-weight="bold">%s</text>`+"\n", panelPad, y0+18, esc(p.Title+" ("+p.Unit+")"))
	left, top := float64(panelPad+60), y0+titleH+6
	plotW, plotH := float64(chartW-2*panelPad-60-180), float64(lineH)
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range p.Series {
		for i := range s.X {
			if i >= len(s.Y) || !(s.Y[i] > 0) || !(s.X[i] > 0) {
				continue
			}
			minX, maxX = math.Min(minX, s.X[i]), math.Max(maxX, s.X[i])
			minY, maxY = math.Min(minY, s.Y[i]), math.Max(maxY, s.Y[i])
		}
	}
	if math.IsInf(minX, 1) {
		return titleH
	}
	if !p.LogY {
		minY = 0
	}
	if maxY == minY {
		maxY = minY + 1
	}
	if maxX == minX {
		maxX = minX * 10
	}
	tx := func(x float64) float64 {
		if p.LogX {
			return left + plotW*math.Log10(x/minX)/math.Log10(maxX/minX)
		}
		return left + plotW*(x-minX)/(maxX-minX)
	}
	ty := func(y float64) float64 {
		if p.LogY {
			return top + plotH - plotH*math.Log10(y/minY)/math.Log10(maxY/minY)
		}
		return top + plotH - plotH*(y-minY)/(maxY-minY)
	}
	// Axes, grid and tick labels.
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`+"\n", left, top, plotW, plotH)
	for i := 0; i <= 4; i++ {
		var v float64
		if p.LogY {
			v = minY * math.Pow(maxY/minY, float64(i)/4)
		} else {
			v = minY + (maxY-minY)*float64(i)/4
		}
		yy := ty(v)
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#eee"/>`+"\n", left, yy, left+plotW, yy)
		fmt.Fprintf(b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-4, yy+4, esc(si(v)))
	}
	xs := map[float64]bool{}
	for _, s := range p.Series {
		for _, x := range s.X {
			if x > 0 && !xs[x] {
				xs[x] = true
				fmt.Fprintf(b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n", tx(x), top+plotH+16, esc(Count(int(x))))
			}
		}
	}
	if p.XUnit != "" {
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle" fill="#666">%s</text>`+"\n", left+plotW/2, top+plotH+34, esc(p.XUnit))
	}
	for si, s := range p.Series {
		col := palette[si%len(palette)]
		var pts []string
		for i := range s.X {
			if i < len(s.Y) && s.Y[i] > 0 && s.X[i] > 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", tx(s.X[i]), ty(s.Y[i])))
				fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", tx(s.X[i]), ty(s.Y[i]), col)
			}
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6,4"`
		}
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), col, dash)
		ly := top + 14 + float64(si)*18
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="2"%s/>`+"\n", left+plotW+12, ly-4, left+plotW+32, ly-4, col, dash)
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", left+plotW+36, ly, esc(s.Name))
	}
	return titleH + 6 + plotH + axisLabelH + 20
}
