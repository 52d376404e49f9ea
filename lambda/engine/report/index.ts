/** Reports for people, rendered from a verdict: HTML, Markdown, and a CSV of destinations. Pure. */
export { renderHtmlReport, DEFAULT_MAX_DESTINATIONS, type HtmlReportOptions } from './render-html-report';
export { renderMarkdownReport, type MarkdownReportOptions } from './render-markdown-report';
export { renderDestinationsCsv } from './render-destinations-csv';
